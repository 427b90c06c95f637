import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { isRoot, tempDirMaker } from '../../../../test/support/root.ts';
import { hasCc, nativeSysHelper } from '../../test/native-sys.ts';

const hasPython = fs.existsSync('/usr/bin/python3');
const tempDir = tempDirMaker('tb-sys-');

const helpers = [
  { name: 'tbuild-sys', native: true, skip: !isRoot || !hasCc, needs: 'root and a C compiler' },
  { name: 'python3', native: false, skip: !isRoot || !hasPython, needs: 'root and python3' },
];

describe.each(helpers)('the sys helper as $name (needs $needs)', ({ native, skip }) => {
  // A module instance of its own, so each helper is the process's helper in turn.
  let sys: typeof import('./sys-helper.ts');
  let mountinfo: typeof import('./mountinfo.ts');
  let quiet: typeof import('../runtime/helper-process.ts');
  beforeAll(async () => {
    if (skip) return;
    vi.resetModules();
    sys = await import('./sys-helper.ts');
    mountinfo = await import('./mountinfo.ts');
    quiet = await import('../runtime/helper-process.ts');
    if (native) sys.useNativeSysHelper(nativeSysHelper());
  });

  it.skipIf(skip)(native ? 'answers a request made before it has started, rather than leave it to mount(8)' : 'leaves requests made before it has started to the caller', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'f'), '');
    const first = await sys.viaHelper({ op: 'utimens', path: path.join(dir, 'f'), atimeNs: '0', mtimeNs: '1000000001' });
    if (native) expect(first).toEqual({ ok: true });
    else expect(first).toBeUndefined();
    expect(await sys.startSysHelper()).toBe(true);
  });

  it.skipIf(skip)("keeps a process that waits for the helper's start alive until it has started", async () => {
    // In a process of its own with nothing else to wait for: Node exits, code 0, when its event
    // loop is empty, and the helper's pipes never hold it open.
    const dir = tempDir();
    const entry = path.join(dir, 'wait.ts');
    const use = native ? `useNativeSysHelper(${JSON.stringify(nativeSysHelper())});\n` : '';
    fs.writeFileSync(entry, `import { startSysHelper, useNativeSysHelper } from ${JSON.stringify(path.join(import.meta.dirname, 'sys-helper.ts'))};\n${use}void startSysHelper().then((ok) => console.log('started', ok));\n`);
    const { build } = await import('esbuild');
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', conditions: ['tbuild-source'], outfile: path.join(dir, 'out.cjs'), logLevel: 'silent' });
    const r = spawnSync(process.execPath, [path.join(dir, 'out.cjs')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('started true\n');
  });

  it.skipIf(skip)('mounts and unmounts through mount(2)/umount2(2), and reports errors with their errno', async () => {
    const dir = tempDir();
    const res = await mountinfo.mount({ type: 'tmpfs', source: 'tmpfs', target: dir, options: 'size=1m,mode=0700' });
    expect(res).toEqual({ ok: true });
    expect(mountinfo.isMountPoint(dir)).toBe(true);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    await mountinfo.unmount(dir);
    expect(mountinfo.isMountPoint(dir)).toBe(false);
    const missing = await sys.viaHelper({ op: 'mount', source: 'tmpfs', target: path.join(dir, 'nope'), fstype: 'tmpfs', data: '' });
    expect(missing).toEqual({ ok: false, errno: 'ENOENT', message: 'No such file or directory' });
    const notMounted = await sys.viaHelper({ op: 'umount', target: dir });
    expect(notMounted).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it.skipIf(skip)('mounts with relative paths in its data resolved in the given directory, then leaves it', async () => {
    const dir = tempDir();
    for (const d of ['lower', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'lower', 'from-lower'), 'x');
    const r = await sys.viaHelper({ op: 'mount', source: 'overlay', target: path.join(dir, 'merged'), fstype: 'overlay', data: 'lowerdir=lower,upperdir=upper,workdir=work', cwd: dir });
    expect(r).toEqual({ ok: true });
    try {
      expect(fs.readdirSync(path.join(dir, 'merged'))).toEqual(['from-lower']);
    } finally {
      await mountinfo.unmount(path.join(dir, 'merged'));
    }
    // A program started later must not inherit that directory, which a build removes.
    const pwd = await quiet.spawnQuiet(['sh', '-c', 'pwd']);
    let out = '';
    pwd!.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await pwd!.closed;
    expect(out).toBe('/\n');
  });

  it.skipIf(skip)("takes flock's lock on this process's own open file, which other processes then wait for, and never waits itself", async () => {
    expect(await sys.startSysHelper()).toBe(true);
    const file = path.join(tempDir(), 'gc.lock');
    const held = fs.openSync(file, 'a');
    const other = fs.openSync(file, 'a');
    const tryLock = () => spawnSync('flock', ['-n', file, 'true']).status;
    try {
      expect(tryLock()).toBe(0);
      expect(await sys.lockThroughHelper(held)).toBe(true);
      // Another process, and another open file of this one, find it taken.
      expect(tryLock()).toBe(1);
      expect(await sys.lockThroughHelper(other)).toBe(false);
    } finally {
      fs.closeSync(held);
    }
    expect(tryLock()).toBe(0);
    expect(await sys.lockThroughHelper(other)).toBe(true);
    fs.closeSync(other);
    expect(tryLock()).toBe(0);
  });

  it.skipIf(skip)('sets a nanosecond mtime without following a symlink, on a path with spaces and a newline', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'a target\nname');
    fs.writeFileSync(target, '');
    fs.symlinkSync(target, path.join(dir, 'link'));
    const before = fs.statSync(target, { bigint: true }).mtimeNs;
    const r = await sys.viaHelper({ op: 'utimens', path: path.join(dir, 'link'), atimeNs: '1700000000000000000', mtimeNs: '1700000000123456789' });
    expect(r).toEqual({ ok: true });
    expect(fs.lstatSync(path.join(dir, 'link'), { bigint: true }).mtimeNs).toBe(1700000000123456789n);
    expect(fs.lstatSync(path.join(dir, 'link'), { bigint: true }).atimeNs).toBe(1700000000000000000n);
    expect(fs.statSync(target, { bigint: true }).mtimeNs).toBe(before);
    const early = await sys.viaHelper({ op: 'utimens', path: target, atimeNs: '0', mtimeNs: '-1500000000' });
    expect(early).toEqual({ ok: true });
    expect(fs.lstatSync(target, { bigint: true }).mtimeNs).toBe(-1500000000n);
  });

  it.skipIf(skip)('sets many mtimes in one request, each keeping its atime, and stops at the first failure', async () => {
    const dir = tempDir();
    const files = ['a', 'b', 'c'].map((f) => path.join(dir, f));
    for (const f of files) {
      fs.writeFileSync(f, '');
      fs.utimesSync(f, 1000, 2000);
    }
    const ok = await sys.viaHelper({ op: 'mtimes', items: files.map((f, i) => [f, `${1700000000000000000n + BigInt(i)}`]) });
    expect(ok).toEqual({ ok: true });
    expect(files.map((f) => fs.lstatSync(f, { bigint: true }).mtimeNs)).toEqual([1700000000000000000n, 1700000000000000001n, 1700000000000000002n]);
    expect(files.map((f) => fs.lstatSync(f).atimeMs)).toEqual([1_000_000, 1_000_000, 1_000_000]);
    const failed = await sys.viaHelper({ op: 'mtimes', items: [[files[0]!, '5'], [path.join(dir, 'missing'), '5'], [files[2]!, '5']] });
    expect(failed).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(fs.lstatSync(files[0]!, { bigint: true }).mtimeNs).toBe(5n);
    expect(fs.lstatSync(files[2]!, { bigint: true }).mtimeNs).toBe(1700000000000000002n);
  });

  it.skipIf(skip)('starts programs as its own children, with both outputs read to the end and how each ended', async () => {
    const started = await quiet.spawnQuiet(['sh', '-c', 'readlink /proc/$PPID/exe; head -c 200000 /dev/zero | tr "\\0" e >&2; exit 3']);
    expect(started).toBeDefined();
    let out = '';
    let err = 0;
    started!.stdout.on('data', (d: Buffer) => (out += d.toString()));
    started!.stderr.on('data', (d: Buffer) => (err += d.length));
    expect(await started!.closed).toEqual({ code: 3, sig: null });
    if (native) expect(out.trim()).toBe(nativeSysHelper());
    else expect(path.basename(out.trim())).toMatch(/^python3/);
    expect(err).toBe(200_000);

    const killed = await quiet.spawnQuiet(['sleep', '30']);
    killed!.kill();
    expect(await killed!.closed).toEqual({ code: null, sig: 'SIGKILL' });

    await expect(quiet.spawnQuiet(['/no/such/program'])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.skipIf(skip)("gives a program the variables asked for over the helper's own, and only that program", async () => {
    const run = async (argv: string[], env?: string[]) => {
      const p = (await quiet.spawnQuiet(argv, env))!;
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      expect(await p.closed).toMatchObject({ code: 0 });
      return out;
    };
    const show = ['sh', '-c', 'echo "$TB_A|$TB_B|$PATH|$#|$1"', 'sh', 'TB_B=arg'];
    expect(await run(show, ['TB_A=x=y', 'PATH=/bin:/usr/bin'])).toBe('x=y||/bin:/usr/bin|1|TB_B=arg\n');
    expect(await run(show)).toBe(`||${process.env.PATH}|1|TB_B=arg\n`);
  });
});

describe.skipIf(!isRoot)('a tbuild-sys that never starts (needs root)', () => {
  it('is given up on after a few seconds, and requests are done the old way', { timeout: 20_000 }, async () => {
    const dir = tempDir();
    const hung = path.join(dir, 'tbuild-sys');
    fs.writeFileSync(hung, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    vi.resetModules();
    const sys = await import('./sys-helper.ts');
    sys.useNativeSysHelper(hung);
    const started = Date.now();
    expect(await sys.viaHelper({ op: 'umount', target: path.join(dir, 'nothing') })).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    expect(await sys.startSysHelper()).toBe(false);
  });
});

describe.skipIf(!isRoot || !hasCc)('a tbuild-sys started before tbuild (needs root and a C compiler)', () => {
  it('is taken over from the two pipe ends it was handed, and answers as one tbuild spawned', async () => {
    const NATIVE = nativeSysHelper();
    // As the thin client hands them down (native/client.c): plain pipe ends, here through FIFOs.
    const dir = tempDir();
    const [req, rep] = [path.join(dir, 'req'), path.join(dir, 'rep')];
    expect(spawnSync('mkfifo', [req, rep]).status).toBe(0);
    const child = spawn('sh', ['-c', 'exec "$0" <"$1" >"$2"', NATIVE, req, rep], { stdio: 'ignore' });
    const requests = fs.openSync(req, fs.constants.O_WRONLY);
    const replies = fs.openSync(rep, fs.constants.O_RDONLY);
    vi.resetModules();
    const sys = await import('./sys-helper.ts');
    const quiet = await import('../runtime/helper-process.ts');
    // A spawned one would be this path's: the handed one must be the one that answers.
    sys.useNativeSysHelper('/nonexistent/tbuild-sys');
    sys.useStartedSysHelper({ pid: child.pid!, requests, replies });
    expect(await sys.startSysHelper()).toBe(true);

    fs.writeFileSync(path.join(dir, 'f'), '');
    expect(await sys.viaHelper({ op: 'utimens', path: path.join(dir, 'f'), atimeNs: '0', mtimeNs: '1700000000123456789' })).toEqual({ ok: true });
    expect(fs.lstatSync(path.join(dir, 'f'), { bigint: true }).mtimeNs).toBe(1700000000123456789n);
    const held = fs.openSync(path.join(dir, 'f'), 'r');
    expect(await sys.lockThroughHelper(held)).toBe(true);
    expect(spawnSync('flock', ['-n', path.join(dir, 'f'), 'true']).status).toBe(1);
    fs.closeSync(held);

    const ran = await quiet.spawnQuiet(['sh', '-c', 'echo $PPID']);
    let out = '';
    ran!.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await ran!.closed).toEqual({ code: 0, sig: null });
    expect(Number(out)).toBe(child.pid);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
});
