import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild, type CliRun } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';
import { writeContext, type FileSpec } from '../differential/support/case.ts';
import { archiveBytes, readSavedImage, type SavedImage } from '../differential/support/image-tree.ts';

/**
 * Hostile Dockerfiles and build contexts (reference/security.md §5 B, items 25–45 that concern
 * builds). Each build either fails with a user error (a TB_ code, no stack trace) or stays
 * confined to the container; a host canary directory outside every tbuild directory must come
 * out byte-for-byte, mode-for-mode and mtime-for-mtime unchanged.
 */

const SECRET = 'tbuild-hostile-secret-7f3a9c';
const CANARY_TEXT = 'host canary: must never be read into an image or changed\n';

interface Result {
  run: CliRun;
  image?: SavedImage;
  bytes?: Buffer;
}

function snapshot(dir: string): string {
  const rows: string[] = [];
  for (const name of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    rows.push(`${name} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(p, 'utf8') : st.isSymbolicLink() ? fs.readlinkSync(p) : ''}`);
  }
  return rows.join('\n');
}

/** A failed build must be a rendered user error, never a raw stack. */
function expectUserError(r: CliRun, code?: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(code ?? /TB_[A-Z_]+/);
  expect(r.stderr).not.toMatch(/\n\s+at .*\.(ts|js|mjs):\d+/);
}

describe.skipIf(!isRoot)(`hostile builds are confined (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-hostile-');
  // The canary lives outside the store, the context and tbuild's run dirs.
  const canary = tempDir('tbuild-canary-');
  let before = '';
  let store: Awaited<ReturnType<typeof seededStore>>;
  let n = 0;

  beforeAll(async () => {
    store = await seededStore();
    fs.writeFileSync(path.join(canary.dir, 'canary'), CANARY_TEXT, { mode: 0o644 });
    fs.mkdirSync(path.join(canary.dir, 'sub'));
    fs.writeFileSync(path.join(canary.dir, 'sub/c'), CANARY_TEXT);
    fs.utimesSync(path.join(canary.dir, 'canary'), 1_000_000, 1_000_000);
    before = snapshot(canary.dir);
  });

  afterAll(() => {
    store?.cleanup();
    work.cleanup();
    canary.cleanup();
  });

  async function build(dockerfile: string, files: Record<string, FileSpec> = {}, args: string[] = []): Promise<Result> {
    const dir = path.join(work.dir, String(++n));
    await writeContext(path.join(dir, 'ctx'), { name: String(n), dockerfile: dockerfile.replaceAll('{{CANARY}}', canary.dir), files }, 'busybox');
    const tar = path.join(dir, 'image.tar');
    const run = await tbuild(['build', '--root', store.root, '--progress=rawjson', '-t', `hostile/${n}:1`, '-o', `type=docker,dest=${tar}`, ...args, path.join(dir, 'ctx')]);
    if (run.code !== 0) return { run };
    return { run, image: await readSavedImage(tar), bytes: await archiveBytes(tar) };
  }

  /** The build either failed as a user error or produced an image holding no canary content. */
  function confined(r: Result): void {
    if (r.run.code !== 0) expectUserError(r.run);
    else expect(r.bytes!.includes(CANARY_TEXT)).toBe(false);
    expect(snapshot(canary.dir)).toBe(before);
  }

  it('25: WORKDIR /proc/self/fd/N is refused before any container starts', async () => {
    for (const fd of [3, 7, 9]) {
      const r = await build(`FROM busybox\nWORKDIR /proc/self/fd/${fd}\nRUN ls ../../../ > /leak\n`);
      expectUserError(r.run, /TB_PLAN_PROC_PATH|TB_EXEC_WORKDIR_INVALID/);
    }
    expect(snapshot(canary.dir)).toBe(before);
  });

  it('26: cache mount ids and sources with ../ reach no host directory', async () => {
    const r = await build(`FROM busybox\nRUN --mount=type=cache,id=../../../../../..{{CANARY}},target=/x ls -la /x > /listing; cat /x/canary >> /listing; touch /x/pwned; true\n`);
    confined(r);
    if (r.image) expect(r.image.tree.get('/listing')).toBeDefined();
    const s = await build(`FROM busybox\nRUN --mount=type=cache,id=c,source=../../../../../..{{CANARY}},target=/x ls /x > /listing; touch /x/pwned; true\n`);
    confined(s);
    expect(fs.existsSync(path.join(canary.dir, 'pwned'))).toBe(false);
  });

  it('27: a bind mount of a stage symlink to / writes nothing on the host (CVE-2024-1753)', async () => {
    const marker = `BREAKOUT-${process.pid}-${Date.now()}`;
    const r = await build(
      `FROM busybox AS base\nRUN ln -s / /escape && ln -s {{CANARY}} /canary-link\nFROM busybox\nRUN --mount=type=bind,from=base,source=/escape,destination=/exploit,rw touch /exploit/${marker}; true\nRUN --mount=type=bind,from=base,source=/canary-link,destination=/c,rw rm -rf /c/canary /c/sub; true\n`,
    );
    // The re-rooted /canary-link does not exist in the stage: a user error, not a crash.
    expectUserError(r.run, /TB_EXEC_MOUNT_SOURCE_NOT_FOUND/);
    confined(r);
    expect(fs.existsSync(`/${marker}`)).toBe(false);
    const s = await build(`FROM busybox AS base\nRUN ln -s / /escape\nFROM busybox\nRUN --mount=type=bind,from=base,source=/escape,destination=/exploit,rw touch /exploit/${marker} && ls /exploit > /seen\n`);
    expect(s.run.code, s.run.stderr).toBe(0);
    expect(fs.existsSync(`/${marker}`)).toBe(false);
    // The mount showed the stage's own root, and the rw write was discarded with the mount.
    expect(s.image!.tree.get('/seen')).toBeDefined();
    expect([...s.image!.tree.keys()].some((p) => p.includes(marker))).toBe(false);
  });

  it('28: mount options outside the allowlist are rejected', async () => {
    for (const m of ['type=bind,target=/x,bind-propagation=shared', 'type=bind,target=/x,bogus=1', 'type=tmpfs,target=/x,size=-1', 'type=cache,target=/x,sharing=everyone', 'type=nope,target=/x']) {
      const r = await build(`FROM busybox\nRUN --mount=${m} true\n`);
      expectUserError(r.run);
    }
  });

  it('30: replacing a mount stub parent with a host symlink deletes nothing outside (CVE-2024-23652)', async () => {
    const r = await build(`FROM busybox\nRUN --mount=type=tmpfs,target=/p/sub/c mv /p /p.old && ln -s {{CANARY}} /p\nRUN --mount=type=cache,target=/q/sub mv /q /q.old && ln -s {{CANARY}} /q\n`);
    expect(r.run.code, r.run.stderr).toBe(0);
    // The swap happened: cleaning the stubs /p/sub/c and /q/sub now resolves into the canary.
    expect(r.image!.tree.get('/p')).toMatchObject({ type: 'symlink', linkname: canary.dir });
    expect(r.image!.tree.get('/q')).toMatchObject({ type: 'symlink', linkname: canary.dir });
    confined(r);
  });

  it('31: context symlinks and ../ sources never pull host files into the image', async () => {
    const files: Record<string, FileSpec> = { link: { symlink: canary.dir }, link2: { symlink: '../../../../../../../../' }, f: { symlink: path.join(canary.dir, 'canary') }, ok: 'ok' };
    for (const copy of ['COPY link/canary /c', 'COPY link2/ /all/', 'COPY f /f', 'COPY ../canary /c', `COPY ${canary.dir}/canary /c`, 'COPY link/sub/c /c', 'ADD link /l']) {
      const r = await build(`FROM busybox\n${copy}\n`, files);
      confined(r);
    }
  });

  it('32: a .dockerignore symlinked out of the context is not followed; ignored secrets stay out', async () => {
    fs.writeFileSync(path.join(canary.dir, 'ignorefile'), '*\n');
    before = snapshot(canary.dir);
    const r = await build('FROM busybox\nCOPY . /ctx/\n', { '.dockerignore': { symlink: path.join(canary.dir, 'ignorefile') }, 'visible.txt': 'v' });
    confined(r);
    // Had the host file's `*` been read, nothing would have been copied.
    if (r.run.code === 0) expect(r.image!.tree.has('/ctx/visible.txt')).toBe(true);
    const s = await build('FROM busybox\nCOPY . /ctx/\nRUN ls -a /ctx > /listing\n', { '.dockerignore': '**/secret*\n!keep\n', 'a/secret.key': SECRET, 'secret.env': SECRET, keep: 'k' });
    expect(s.run.code, s.run.stderr).toBe(0);
    expect(s.bytes!.includes(SECRET)).toBe(false);
    expect(s.image!.tree.has('/ctx/a/secret.key')).toBe(false);
    // Ignored files are not cache-key inputs either: changing one keeps every step cached.
    const ctx = path.join(work.dir, String(n), 'ctx');
    fs.writeFileSync(path.join(ctx, 'a/secret.key'), SECRET + ' rotated');
    const again = await tbuild(['build', '--root', store.root, '--progress=rawjson', ctx]);
    expect(again.code, again.stderr).toBe(0);
    const types = again.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.filter((t) => t === 'step-cached')).toHaveLength(2);
    expect(types).not.toContain('step-start');
  });

  it('37: a secret reaches RUN but not the layers, config, history or logs', async () => {
    const src = path.join(work.dir, 'secret.txt');
    fs.writeFileSync(src, SECRET);
    const r = await build(
      'FROM busybox\nRUN --mount=type=secret,id=s wc -c < /run/secrets/s > /len\nRUN --mount=type=secret,id=s,target=/etc/app/token test -s /etc/app/token\nRUN mkdir -p /run && ln -s /tmp /run/secrets\nRUN --mount=type=secret,id=s true\n',
      {},
      ['--secret', `id=s,src=${src}`],
    );
    expect(r.run.code, r.run.stderr).toBe(0);
    expect(r.image!.tree.get('/len')).toBeDefined();
    expect(r.bytes!.includes(SECRET)).toBe(false);
    expect(r.image!.tree.has('/etc/app/token')).toBe(false);
    expect([...r.image!.tree.keys()].filter((p) => p.startsWith('/tmp/'))).toEqual([]);
    expect(r.run.stderr + r.run.stdout).not.toContain(SECRET);
    const hist = await tbuild(['history', '--root', store.root, '--format', 'json', `hostile/${n}:1`]);
    expect(hist.code, hist.stderr).toBe(0);
    expect(hist.stdout).not.toContain(SECRET);
    // Nor in what the planner keys on: the secret's content never enters a cache key pre-image.
    const plan = await tbuild(['plan', '--root', store.root, '--format', 'json', '--secret', `id=s,src=${src}`, path.join(work.dir, String(n), 'ctx')]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout + plan.stderr).not.toContain(SECRET);
  });

  it('38: writes to /proc, /sys, /dev/shm, /run/secrets and mount targets stay out of the layer', async () => {
    const r = await build(
      'FROM busybox\nRUN --mount=type=tmpfs,target=/scratch --mount=type=cache,target=/cache echo x > /scratch/f; echo x > /cache/f; echo x > /dev/shm/f; touch /proc/f /sys/f; mkdir -p /run/secrets; echo ok > /kept; true\n',
    );
    expect(r.run.code, r.run.stderr).toBe(0);
    const paths = [...r.image!.tree.keys()];
    expect(paths).toContain('/kept');
    for (const p of ['/scratch/f', '/cache/f', '/dev/shm/f']) expect(paths).not.toContain(p);
    expect(paths.filter((p) => p.startsWith('/proc/') || p.startsWith('/sys/'))).toEqual([]);
  });

  it('39: RUN creating .wh. names fails instead of writing a whiteout', async () => {
    for (const cmd of ['mkdir -p /app && touch /app/.wh.important', 'mkdir -p /x/.wh..wh..opq', 'touch /.wh.bin']) {
      const r = await build(`FROM busybox\nRUN ${cmd}\n`);
      expectUserError(r.run, /TB_EXEC_WHITEOUT_NAME/);
    }
  });

  it('33: ADD <url> redirected to file:// is refused and never reads the host file', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/to-file') res.writeHead(302, { Location: `file://${path.join(canary.dir, 'canary')}` }).end();
      else if (req.url === '/to-passwd') res.writeHead(301, { Location: 'file:///etc/passwd' }).end();
      else if (req.url === '/hop') res.writeHead(302, { Location: '/ok' }).end();
      else res.end('fine\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      for (const p of ['/to-file', '/to-passwd']) {
        const r = await build(`FROM busybox\nADD ${base}${p} /got\n`);
        expectUserError(r.run);
        confined(r);
      }
      // A same-origin redirect is followed: the refusal above is about the scheme.
      const ok = await build(`FROM busybox\nADD ${base}/hop /got\n`);
      expect(ok.run.code, ok.run.stderr).toBe(0);
      expect(ok.bytes!.includes('fine\n')).toBe(true);
    } finally {
      server.close();
    }
  });

  it('45: a Dockerfile symlinked to a host file is read, never written through', async () => {
    const hostDf = path.join(canary.dir, 'Dockerfile.host');
    fs.writeFileSync(hostDf, 'FROM busybox\nRUN echo from-host > /from\n');
    before = snapshot(canary.dir);
    const dir = path.join(work.dir, 'df-link');
    fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync(hostDf, path.join(dir, 'Dockerfile'));
    const r = await tbuild(['build', '--root', store.root, '--progress=plain', dir]);
    if (r.code !== 0) expectUserError(r);
    expect(snapshot(canary.dir)).toBe(before);
  });
});
