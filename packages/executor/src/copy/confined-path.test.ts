import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/root.ts';
import { mkdirAllInRoot } from './confined-path.ts';
import { parseChmod } from './chmod.ts';

describe('mkdirAllInRoot', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  const root = path.join(t.dir, 'root');
  const outside = path.join(t.dir, 'outside');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.symlinkSync(outside, path.join(root, 'abs'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));
  fs.writeFileSync(path.join(root, 'file'), 'x');

  it('creates directories through links without leaving the root', async () => {
    const host = await mkdirAllInRoot(root, '/abs/new/dir', { mode: 0o750 });
    expect(host).toBe(path.join(root, outside, 'new/dir'));
    expect(fs.existsSync(path.join(outside, 'new'))).toBe(false);
    expect(fs.statSync(host).mode & 0o777).toBe(0o750);
  });

  it('reports symlink loops and files in the way as BuildErrors', async () => {
    await expect(mkdirAllInRoot(root, '/loop1/x')).rejects.toMatchObject({ code: 'TB_EXEC_SYMLINK_LOOP' });
    await expect(mkdirAllInRoot(root, '/file/x')).rejects.toMatchObject({ code: 'TB_EXEC_NOT_A_DIRECTORY' });
  });
});

describe('parseChmod', () => {
  it.each([
    ['755', 0o644, false, 0o755],
    ['0600', 0o777, true, 0o600],
    ['u=rwX,go=rX', 0o600, false, 0o644],
    ['u=rwX,go=rX', 0o700, false, 0o755],
    ['u=rwX,go=rX', 0o600, true, 0o755],
    ['+x', 0o644, false, 0o755],
    ['a-w', 0o666, false, 0o444],
    ['g+s', 0o755, true, 0o2755],
  ])('%s applied to %o (dir=%s) gives %o', (spec, mode, isDir, want) => {
    expect(parseChmod(spec)(mode, isDir)).toBe(want);
  });

  it('rejects nonsense with a hint', () => {
    expect(() => parseChmod('u=q')).toThrow(/invalid chmod parameter "u=q"/);
  });
});
