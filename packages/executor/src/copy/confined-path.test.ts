import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/root.ts';
import { mkdirAllInRoot, resolveInRoot } from './confined-path.ts';
import { parseChmod } from './chmod.ts';

describe('resolveInRoot', () => {
  const t = tempDir();
  afterEach(() => undefined);
  const root = path.join(t.dir, 'root');
  const outside = path.join(t.dir, 'outside');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.symlinkSync('/', path.join(root, 'up'));
  fs.symlinkSync('../../../../outside', path.join(root, 'rel'));
  fs.symlinkSync(outside, path.join(root, 'abs'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));

  it('keeps absolute symlink targets inside the root', async () => {
    expect(await resolveInRoot(root, '/abs/x')).toBe(path.join(root, outside, 'x'));
    expect(await resolveInRoot(root, '/up/etc')).toBe(path.join(root, 'etc'));
  });

  it('never climbs above the root with .. in paths or link targets', async () => {
    expect(await resolveInRoot(root, '/../../etc')).toBe(path.join(root, 'etc'));
    expect(await resolveInRoot(root, '/rel/x')).toBe(path.join(root, 'outside', 'x'));
  });

  it('does not follow the last component when asked not to', async () => {
    expect(await resolveInRoot(root, '/abs', { followLast: false })).toBe(path.join(root, 'abs'));
  });

  it('reports symlink loops as a BuildError', async () => {
    await expect(resolveInRoot(root, '/loop1/x')).rejects.toMatchObject({ code: 'TB_EXEC_SYMLINK_LOOP' });
  });

  it('creates directories through links without leaving the root', async () => {
    const host = await mkdirAllInRoot(root, '/abs/new/dir');
    expect(host.startsWith(root + '/')).toBe(true);
    expect(fs.existsSync(path.join(outside, 'new'))).toBe(false);
    expect(fs.statSync(host).isDirectory()).toBe(true);
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
