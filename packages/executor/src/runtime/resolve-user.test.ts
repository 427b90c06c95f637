import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/root.ts';
import { resolveInRoot } from './confined-path.ts';
import { resolveUser } from './resolve-user.ts';

describe('resolveUser', () => {
  let tmp: { dir: string; cleanup: () => void };
  let rootfs: string;

  beforeAll(() => {
    tmp = tempDir('tbuild-user-');
    rootfs = path.join(tmp.dir, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
    fs.writeFileSync(
      path.join(rootfs, 'etc/passwd'),
      [
        'root:x:0:0:root:/root:/bin/sh',
        '# comment',
        'app:x:1000:1000:app:/home/app:/bin/sh',
        // A user literally named "1000" with uid 0: `USER 1000` must still mean uid 1000.
        '1000:x:0:0:trap:/:/bin/sh',
        'huge:x:4294967296:0::/:/bin/sh',
        'broken line',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\ndocker:x:999:app,other\naudio:x:29:app\n');
  });
  afterAll(() => tmp?.cleanup());

  it.for([
    ['', { uid: 0, gid: 0, additionalGids: [], home: '/root' }],
    ['root', { uid: 0, gid: 0, additionalGids: [], home: '/root' }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [999, 29], home: '/home/app' }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [999, 29], home: '/home/app' }],
    ['app:docker', { uid: 1000, gid: 999, additionalGids: [], home: '/home/app' }],
    ['app:5', { uid: 1000, gid: 5, additionalGids: [], home: '/home/app' }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [], home: '/' }],
    ['4242:4243', { uid: 4242, gid: 4243, additionalGids: [], home: '/' }],
  ] as const)('%s', ([spec, want]) => {
    expect(resolveUser(rootfs, spec)).toEqual(want);
  });

  it('rejects unknown names and out-of-range ids with coded errors', () => {
    expect(() => resolveUser(rootfs, 'nobody')).toThrow(expect.objectContaining({ code: 'TB_EXEC_USER_UNKNOWN' }));
    expect(() => resolveUser(rootfs, 'app:nogroup')).toThrow(expect.objectContaining({ code: 'TB_EXEC_USER_UNKNOWN' }));
    expect(() => resolveUser(rootfs, '4294967296')).toThrow(expect.objectContaining({ code: 'TB_EXEC_USER_INVALID' }));
    expect(() => resolveUser(rootfs, 'huge')).toThrow(expect.objectContaining({ code: 'TB_EXEC_USER_INVALID' }));
    expect(() => resolveUser(rootfs, ':1')).toThrow(expect.objectContaining({ code: 'TB_EXEC_USER_INVALID' }));
  });

  it('never reads /etc/passwd outside the rootfs through symlinks', () => {
    const evil = path.join(tmp.dir, 'evil');
    fs.mkdirSync(path.join(evil, 'etc'), { recursive: true });
    // Both point at the host's /etc/passwd, which has root; inside the rootfs they dangle.
    fs.symlinkSync('/etc/passwd', path.join(evil, 'etc/passwd'));
    fs.symlinkSync('../../../../../../../../etc/group', path.join(evil, 'etc/group'));
    expect(() => resolveUser(evil, 'root')).toThrow(expect.objectContaining({ code: 'TB_EXEC_USER_UNKNOWN' }));
    expect(resolveUser(evil, '0')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
  });
});

describe('resolveInRoot', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeAll(() => {
    tmp = tempDir('tbuild-confined-');
    const r = tmp.dir;
    fs.mkdirSync(path.join(r, 'a/b'), { recursive: true });
    fs.symlinkSync('/', path.join(r, 'root-link'));
    fs.symlinkSync('../../..', path.join(r, 'a/up'));
    fs.symlinkSync('b', path.join(r, 'a/rel'));
    fs.symlinkSync('loop2', path.join(r, 'loop1'));
    fs.symlinkSync('loop1', path.join(r, 'loop2'));
    fs.writeFileSync(path.join(r, 'file'), '');
  });
  afterAll(() => tmp?.cleanup());

  it.for([
    ['/a/b', '/a/b'],
    ['a/./b/../b', '/a/b'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/root-link/etc/passwd', '/etc/passwd'],
    ['/a/up/etc', '/etc'],
    ['/a/rel/x', '/a/b/x'],
  ] as const)('%s stays inside the root as %s', ([input, want]) => {
    const r = resolveInRoot(tmp.dir, input);
    expect(r.containerPath).toBe(want);
    expect(r.hostPath).toBe(path.join(tmp.dir, want));
  });

  it('reports symlink loops and paths through files', () => {
    expect(() => resolveInRoot(tmp.dir, '/loop1/x')).toThrow(/too many levels/);
    expect(() => resolveInRoot(tmp.dir, '/file/x')).toThrow(/not a directory/);
  });
});
