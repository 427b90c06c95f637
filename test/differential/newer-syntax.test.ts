import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';
import { writeContext, type FileSpec } from './support/case.ts';

/**
 * Syntax Docker 20.10's frontend does not know (docs/differences.md), checked against tbuild
 * alone with expectations taken from the Dockerfile reference
 * (/work/shared/reference/dockerfile-semantics.md §3–§6): heredocs, --link, --parents,
 * --exclude, substitution pattern operators, RUN --network, HEALTHCHECK --start-interval,
 * ADD --checksum, symbolic --chmod; and the deliberate differences docs/differences.md lists.
 */

interface Built {
  code: number;
  stderr: string;
  root: string;
  config: Record<string, unknown>;
}

describe.skipIf(!isRoot)(`newer Dockerfile syntax, tbuild alone (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-newer-');
  let store: Awaited<ReturnType<typeof seededStore>>;
  let server: http.Server;
  let httpBase = '';
  const body = 'remote body\n';
  let n = 0;

  beforeAll(async () => {
    store = await seededStore();
    server = http.createServer((req, res) => (req.url === '/f.txt' ? res.end(body) : res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    httpBase = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(() => {
    server?.close();
    store?.cleanup();
    work.cleanup();
  });

  async function build(dockerfile: string, files: Record<string, FileSpec> = {}, args: string[] = []): Promise<Built> {
    const dir = path.join(work.dir, String(++n));
    await writeContext(path.join(dir, 'ctx'), { name: String(n), dockerfile: dockerfile.replaceAll('{{HTTP}}', httpBase), files }, 'busybox');
    const out = path.join(dir, 'out');
    const tag = `newer/${n}:1`;
    const r = await tbuild(['build', '--root', store.root, '--progress=plain', '-t', tag, '-o', `type=local,dest=${out}`, ...args, path.join(dir, 'ctx')]);
    if (r.code !== 0) return { code: r.code, stderr: r.stderr, root: out, config: {} };
    const inspect = await tbuild(['inspect', '--root', store.root, tag]);
    const [img] = JSON.parse(inspect.stdout) as Array<{ Config: Record<string, unknown> }>;
    return { code: 0, stderr: r.stderr, root: out, config: img!.Config };
  }
  const read = (b: Built, p: string): string => fs.readFileSync(path.join(b.root, p), 'utf8');
  const mode = (b: Built, p: string): number => fs.lstatSync(path.join(b.root, p)).mode & 0o7777;
  const ok = (b: Built): void => expect(b.code, b.stderr).toBe(0);
  const tree = (b: Built, sub: string): string[] =>
    fs.readdirSync(path.join(b.root, sub), { recursive: true, encoding: 'utf8' }).sort();

  it('RUN heredoc: the body is the script; a #! body runs as a file; other forms go to the shell', async () => {
    const b = await build(
      [
        'FROM busybox',
        'RUN <<EOF',
        'echo one > /one',
        'echo two >> /one',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "shebang $0" > /shebang',
        'EOF',
        'RUN cat <<EOF > /expanded',
        'home=$HOME',
        'EOF',
        'RUN <<-EOF',
        '\techo tabs > /tabs',
        '\tEOF',
        '',
      ].join('\n'),
    );
    ok(b);
    expect(read(b, 'one')).toBe('one\ntwo\n');
    expect(read(b, 'shebang')).toMatch(/^shebang \/.+\n$/);
    expect(read(b, 'expanded')).toBe('home=/root\n');
    expect(read(b, 'tabs')).toBe('tabs\n');
  });

  it('COPY heredoc: files named after the delimiter, mode 0644, expanded unless quoted', async () => {
    const b = await build(['FROM busybox', 'ARG V=value', 'COPY <<EOF /c.txt', 'v=${V}', 'EOF', "COPY <<'EOF' /q.txt", 'v=${V}', 'EOF', 'COPY <<A <<B /two/', 'a', 'A', 'b', 'B', ''].join('\n'));
    ok(b);
    expect(read(b, 'c.txt')).toBe('v=value\n');
    expect(read(b, 'q.txt')).toBe('v=${V}\n');
    expect(mode(b, 'c.txt')).toBe(0o644);
    expect(read(b, 'two/A')).toBe('a\n');
    expect(read(b, 'two/B')).toBe('b\n');
  });

  it('COPY --link lands the same files; --link with --chmod still applies the mode', async () => {
    const b = await build('FROM busybox\nRUN mkdir /l\nCOPY --link a /l/a\nCOPY --link --chmod=600 a /l/m\nCOPY --link --chown=1000:1000 a /l/o\n', { a: 'A' });
    ok(b);
    expect(read(b, 'l/a')).toBe('A');
    expect(mode(b, 'l/m')).toBe(0o600);
    const st = fs.lstatSync(path.join(b.root, 'l/o'));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  it('COPY --parents keeps source paths, below a /./ pivot, with ** patterns', async () => {
    const b = await build('FROM busybox\nCOPY --parents x/y/f.txt /p/\nCOPY --parents src/./app/f /pivot/\nCOPY --parents **/*.md /docs/\n', {
      'x/y/f.txt': 'f',
      'src/app/f': 'pf',
      'a/readme.md': 'r1',
      'b/c/notes.md': 'r2',
      'b/c/other.txt': 'no',
    });
    ok(b);
    expect(read(b, 'p/x/y/f.txt')).toBe('f');
    expect(read(b, 'pivot/app/f')).toBe('pf');
    expect(read(b, 'docs/a/readme.md')).toBe('r1');
    expect(read(b, 'docs/b/c/notes.md')).toBe('r2');
    expect(fs.existsSync(path.join(b.root, 'docs/b/c/other.txt'))).toBe(false);
  });

  it('COPY --exclude drops matches and is never variable-expanded', async () => {
    const b = await build('FROM busybox\nARG P=*.txt\nCOPY --exclude=*.log --exclude=tmp . /e/\nCOPY --exclude=$P . /x/\n', {
      'keep.txt': 'k',
      'drop.log': 'd',
      'tmp/t': 't',
      'sub/deep.log': 'd',
    });
    ok(b);
    // Patterns are matched from the source root like .dockerignore: `*.log` is top-level only.
    expect(tree(b, 'e')).toEqual(['Dockerfile', 'keep.txt', 'sub', 'sub/deep.log']);
    // `$P` is a literal pattern: keep.txt stays.
    expect(read(b, 'x/keep.txt')).toBe('k');
  });

  it('substitution pattern operators: # ## % %% / //', async () => {
    const b = await build(
      [
        'FROM busybox',
        'ARG P=/usr/local/lib/file.tar.gz',
        'ENV A=${P#*/} B=${P##*/} C=${P%.*} D=${P%%.*} E=${P/l/L} F=${P//l/L} G=${UNSET#x}',
        '',
      ].join('\n'),
    );
    ok(b);
    const env = b.config.Env as string[];
    expect(env).toEqual(
      expect.arrayContaining(['A=usr/local/lib/file.tar.gz', 'B=file.tar.gz', 'C=/usr/local/lib/file.tar', 'D=/usr/local/lib/file', 'E=/usr/Local/lib/file.tar.gz', 'F=/usr/LocaL/Lib/fiLe.tar.gz', 'G=']),
    );
  });

  it('RUN --network=none has only loopback; HEALTHCHECK --start-interval is kept', async () => {
    const b = await build('FROM busybox\nRUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " > /ifaces\nHEALTHCHECK --start-interval=2s --interval=10s CMD true\n');
    ok(b);
    expect(read(b, 'ifaces')).toBe('lo\n');
    expect(b.config.Healthcheck).toMatchObject({ Test: ['CMD-SHELL', 'true'], Interval: 10e9, StartInterval: 2e9 });
  });

  it('RUN --network=host and --security=insecure need --allow, as BuildKit entitlements; granted, the step gets the host network, or every capability and no seccomp filter', async () => {
    const hostDf = 'FROM busybox\nRUN --network=host ls /sys/class/net > /nets\n';
    const refused = await build(hostDf);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Dockerfile:2:5: error TB_PLAN_ENTITLEMENT: RUN --network=host needs the network.host entitlement/);
    expect(refused.stderr).toContain('hint: build with --allow network.host');
    const host = await build(hostDf, {}, ['--allow', 'network.host']);
    ok(host);
    expect(read(host, 'nets').trim().split('\n').sort()).toEqual(fs.readdirSync('/sys/class/net').sort());

    const insecureDf = 'FROM busybox\nRUN --security=insecure grep -E "^(CapEff|Seccomp):" /proc/self/status > /st; mkdir -p /tmp/m; mount -t tmpfs t /tmp/m && echo mounted > /m || echo refused > /m\n';
    expect((await build(insecureDf)).stderr).toMatch(/error TB_PLAN_ENTITLEMENT: RUN --security=insecure needs the security.insecure entitlement/);
    const insecure = await build(insecureDf, {}, ['--allow', 'network.host,security.insecure']);
    ok(insecure);
    // Every capability tbuild itself holds (its bounding set, here the test's).
    const bounding = /^CapBnd:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
    expect(read(insecure, 'st')).toBe(`CapEff:\t${bounding}\nSeccomp:\t0\n`);
    expect(read(insecure, 'm')).toBe('mounted\n');
    const sandboxed = await build('FROM busybox\nRUN grep -E "^Seccomp:" /proc/self/status > /st; mkdir -p /tmp/m; mount -t tmpfs t /tmp/m && echo mounted > /m || echo refused > /m\n');
    ok(sandboxed);
    expect(read(sandboxed, 'm')).toBe('refused\n');

    const typo = await build(hostDf, {}, ['--allow', 'net.host']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown entitlement "net.host"/);
  });

  it('ADD --checksum: a matching digest downloads, a wrong one fails the build', async () => {
    const good = 'sha256:' + createHash('sha256').update(body).digest('hex');
    const b = await build(`FROM busybox\nADD --checksum=${good} {{HTTP}}/f.txt /dl\n`);
    ok(b);
    expect(read(b, 'dl')).toBe(body);
    expect(mode(b, 'dl')).toBe(0o600);
    const bad = await build(`FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} {{HTTP}}/f.txt /dl\n`);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/checksum|digest/i);
    expect(bad.stderr).not.toMatch(/\n\s+at .*\.(ts|js|mjs):\d+/);
  });

  it('symbolic --chmod is applied (20.10 ignores it)', async () => {
    const b = await build('FROM busybox\nCOPY --chmod=u=rwx,go=rx a /a\nCOPY --chmod=+x b /b\nCOPY --chmod=go-rwx d /d\n', { a: { content: 'a', mode: 0o600 }, b: 'b', 'd/f': { content: 'f', mode: 0o644 } });
    ok(b);
    expect(mode(b, 'a')).toBe(0o755);
    expect(mode(b, 'b')).toBe(0o755);
    expect(mode(b, 'd/f')).toBe(0o600);
  });

  it('several named sources into a destination without a slash is an error (BuildKit keeps the last file)', async () => {
    const b = await build('FROM busybox\nCOPY a b /dest\n', { a: 'a', b: 'b' });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('TB_PLAN_COPY_DEST');
    expect(b.stderr).toContain('Dockerfile:2');
    const w = await build('FROM busybox\nCOPY f* /dest\n', { f1: '1', f2: '2' });
    ok(w);
    expect(tree(w, 'dest')).toEqual(['f1', 'f2']);
  });

  it('COPY --chown with an unknown name is an error, not a silent root owner', async () => {
    const b = await build('FROM busybox\nCOPY --chown=nosuchuser a /a\n', { a: 'a' });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('TB_EXEC_USER_UNKNOWN');
    expect(b.stderr).toContain('nosuchuser');
  });
});
