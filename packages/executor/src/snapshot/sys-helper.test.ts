import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mount, isMountPoint, unmount } from './mountinfo.ts';
import { startSysHelper, viaHelper } from './sys-helper.ts';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!isRoot || !fs.existsSync('/usr/bin/python3'))('sys helper (needs root and python3)', () => {
  beforeAll(async () => {
    expect(await startSysHelper()).toBe(true);
  });

  it("keeps a process that waits for the helper's start alive until it has started", async () => {
    // In a process of its own with nothing else to wait for: Node exits, code 0, when its event
    // loop is empty, and the helper's pipes never hold it open.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-sys-'));
    dirs.push(dir);
    const entry = path.join(dir, 'wait.ts');
    fs.writeFileSync(entry, `import { startSysHelper } from ${JSON.stringify(path.join(import.meta.dirname, 'sys-helper.ts'))};\nvoid startSysHelper().then((ok) => console.log('started', ok));\n`);
    const { build } = await import('esbuild');
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', conditions: ['tbuild-source'], outfile: path.join(dir, 'out.cjs'), logLevel: 'silent' });
    const r = spawnSync(process.execPath, [path.join(dir, 'out.cjs')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('started true\n');
  });

  it('mounts and unmounts through mount(2)/umount2(2), and reports errors with their errno', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-sys-'));
    dirs.push(dir);
    const res = await mount({ type: 'tmpfs', source: 'tmpfs', target: dir, options: 'size=1m,mode=0700' });
    expect(res).toEqual({ ok: true });
    expect(isMountPoint(dir)).toBe(true);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    await unmount(dir);
    expect(isMountPoint(dir)).toBe(false);
    const missing = await viaHelper({ op: 'mount', source: 'tmpfs', target: path.join(dir, 'nope'), fstype: 'tmpfs', data: '' });
    expect(missing).toEqual({ ok: false, errno: 'ENOENT', message: 'No such file or directory' });
    const notMounted = await viaHelper({ op: 'umount', target: dir });
    expect(notMounted).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it('sets a nanosecond mtime without following a symlink', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-sys-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'target'), '');
    fs.symlinkSync('target', path.join(dir, 'link'));
    const before = fs.statSync(path.join(dir, 'target'), { bigint: true }).mtimeNs;
    const r = await viaHelper({ op: 'utimens', path: path.join(dir, 'link'), atimeNs: '1700000000000000000', mtimeNs: '1700000000123456789' });
    expect(r).toEqual({ ok: true });
    expect(fs.lstatSync(path.join(dir, 'link'), { bigint: true }).mtimeNs).toBe(1700000000123456789n);
    expect(fs.statSync(path.join(dir, 'target'), { bigint: true }).mtimeNs).toBe(before);
  });
});
