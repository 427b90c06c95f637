import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirMaker } from '../../../../test/support/root.ts';
import { startSysHelper } from '../snapshot/sys-helper.ts';
import { MountStubs } from './mount-stubs.ts';

const tempRoot = tempDirMaker('tbuild-stubs-');

function rootfsWithEtc(stamp: string): string {
  const root = tempRoot();
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  execFileSync('touch', ['-h', '-m', '-d', stamp, '--', path.join(root, 'etc')]);
  return root;
}

const mtimeNs = (p: string): bigint => fs.lstatSync(p, { bigint: true }).mtimeNs;

describe('MountStubs', () => {
  // With python3 the nanosecond case goes through the sys helper; the fallback has its own test.
  beforeAll(async () => {
    await startSysHelper();
  });

  // An image's times come from tar (whole seconds); a RUN's own dirs carry nanoseconds.
  for (const [what, stamp] of [
    ['whole seconds', '@1700000000'],
    ['nanoseconds', '@1700000000.123456789'],
  ] as const) {
    it(`removes its stubs and restores the parent's mtime to the nanosecond (${what})`, async () => {
      const root = rootfsWithEtc(stamp);
      const before = mtimeNs(path.join(root, 'etc'));
      const stubs = new MountStubs(root);
      stubs.ensure('/etc/hosts', 'file');
      stubs.ensure('/proc', 'dir');
      expect(fs.existsSync(path.join(root, 'etc/hosts'))).toBe(true);
      expect(mtimeNs(path.join(root, 'etc'))).not.toBe(before);
      await stubs.removeAll();
      expect(fs.readdirSync(root).sort()).toEqual(['etc']);
      expect(fs.readdirSync(path.join(root, 'etc'))).toEqual(['passwd']);
      expect(mtimeNs(path.join(root, 'etc'))).toBe(before);
    });
  }

  it('restores nanoseconds with touch(1) when there is no sys helper', async () => {
    process.env.TBUILD_NO_SYS_HELPER = '1';
    try {
      const root = rootfsWithEtc('@1700000000.987654321');
      const before = mtimeNs(path.join(root, 'etc'));
      const stubs = new MountStubs(root);
      stubs.ensure('/etc/hosts', 'file');
      await stubs.removeAll();
      expect(mtimeNs(path.join(root, 'etc'))).toBe(before);
    } finally {
      delete process.env.TBUILD_NO_SYS_HELPER;
    }
  });

  it('leaves a stub the RUN filled with content', async () => {
    const root = rootfsWithEtc('@1700000000');
    const stubs = new MountStubs(root);
    stubs.ensure('/etc/hosts', 'file');
    fs.writeFileSync(path.join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
    await stubs.removeAll();
    expect(fs.readFileSync(path.join(root, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
  });
});
