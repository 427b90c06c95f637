import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

describe('tbuild command line', () => {
  it('lists the commands with --help and exits 0', async () => {
    const r = await tbuild(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['build', 'bake', 'plan', 'parse', 'images', 'tag', 'rmi', 'inspect', 'history', 'push', 'pull', 'save', 'load', 'doctor', 'version']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    }
  });

  it('documents every build flag with an example', async () => {
    const r = await tbuild(['build', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--tag', '--file', '--build-arg', '--target', '--no-cache', '--no-cache-filter', '--label', '--platform', '--network', '--secret', '--ssh', '--output', '--push', '--iidfile', '--metadata-file', '--progress', '--quiet', '--root', '--jobs', '--trace']) {
      expect(r.stdout).toContain(f);
    }
    expect(r.stdout).toContain('Examples:\n  tbuild -t my-app .');
  });

  it('rejects an unknown flag in one line with the right spelling, exit 2', async () => {
    const r = await tbuild(['build', '--tagg', 'x', '.']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error TB_CLI_USAGE: unknown flag: --tagg\nhint: did you mean --tag? See 'tbuild build --help'\n");
  });

  it('rejects a bad flag value with the closest choice, exit 2', async () => {
    const r = await tbuild(['build', '--progress=plian', '.']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error TB_CLI_USAGE: invalid value "plian" for --progress\nhint: did you mean "plain"? (one of: auto, tty, plain, rawjson, quiet)\n');
  });

  it('suggests a command for a typo, exit 2', async () => {
    const r = await tbuild(['biuld']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error TB_CLI_USAGE: unknown command "biuld"\nhint: did you mean "tbuild build"?\n');
  });

  it('needs a context argument', async () => {
    const r = await tbuild(['build', '-t', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error TB_CLI_USAGE: "build" requires exactly 1 argument, got 0\nhint: usage: tbuild build [OPTIONS] CONTEXT\n');
  });

  it('prints its version', async () => {
    const r = await tbuild(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tbuild \d+\.\d+\.\d+ \(node v\d+/);
  });

  describe('parse', () => {
    const t = tempDir('tbuild-parse-');
    afterAll(() => t.cleanup());

    it('prints BuildKit\'s dump format', async () => {
      fs.writeFileSync(path.join(t.dir, 'Dockerfile'), 'FROM busybox AS b\nCOPY --chown=1:1 a /b\nENV A=1 B="2 3"\nCMD ["x"]\n');
      const r = await tbuild(['parse', '--format', 'dump'], { cwd: t.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('(from "busybox" "AS" "b")\n(copy ["--chown=1:1"] "a" "/b")\n(env "A" "1" "=" "B" "\\"2 3\\"" "=")\n(cmd "x")\n');
    });

    it('reports every syntax problem at once, each with its line', async () => {
      fs.writeFileSync(path.join(t.dir, 'Bad'), 'FROM busybox\nRUNN echo hi\nENV PATH\nCOPY --frm=x a b\n');
      const r = await tbuild(['parse', '-f', 'Bad'], { cwd: t.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Bad:2:1:');
      expect(r.stderr).toContain('Bad:3:');
      expect(r.stderr).toContain('Bad:4:');
      expect(r.stderr).toContain('did you mean');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });
});

describe.skipIf(!isRoot)(`tbuild build flags (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-flags-');

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.writeFileSync(path.join(work.dir, 'Dockerfile'), 'FROM busybox\nARG V=1\nRUN echo "v=$V" > /v\nLABEL from=file\n');
  });
  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('reads the Dockerfile from stdin with -f - and prints only the image ID with -q', async () => {
    const r = await tbuild(['build', '--root', root, '-q', '-f', '-', work.dir], { input: 'FROM busybox\nENV FROM_STDIN=yes\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(r.stderr).toBe('');
  });

  it('shows plain progress with step numbers, output lines and CACHED on a rebuild', async () => {
    const first = await tbuild(['build', '--root', root, '--progress=plain', '--build-arg', 'V=2', work.dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^#1 \[0 1\/1\] RUN echo "v=\$V" > \/v$/m);
    expect(first.stderr).toMatch(/^#1 DONE \d+\.\ds$/m);
    expect(first.stderr).toMatch(/^done in \d+\.\ds: 1 steps, 0 cached, 1 run, 1 layers written/m);
    const again = await tbuild(['build', '--root', root, '--progress=plain', '--build-arg', 'V=2', work.dir]);
    expect(again.stderr).toMatch(/^#1 CACHED$/m);
  });

  it('takes a bare --build-arg from the environment, and labels from --label', async () => {
    const out = path.join(work.dir, 'fs-env');
    const r = await tbuild(['build', '--root', root, '--build-arg', 'V', '--label', 'team=core', '-t', 'flags:env', '-o', `type=local,dest=${out}`, work.dir], { env: { V: 'from-env' } });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'v'), 'utf8')).toBe('v=from-env\n');
    const img = JSON.parse((await tbuild(['inspect', '--root', root, 'flags:env'])).stdout) as Array<{ Config: { Labels: Record<string, string> } }>;
    expect(img[0]!.Config.Labels).toEqual({ from: 'file', team: 'core' });
  });

  it('writes a Chrome trace of the build', async () => {
    const trace = path.join(work.dir, 'trace.json');
    const r = await tbuild(['build', '--root', root, '--no-cache', '--progress=quiet', '--trace', trace, work.dir]);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(fs.readFileSync(trace, 'utf8')) as { traceEvents: Array<{ ph: string; name: string; dur?: number }> };
    const slice = t.traceEvents.find((e) => e.ph === 'X' && e.name.startsWith('RUN echo'));
    expect(slice?.dur).toBeGreaterThan(0);
  });

  it('refuses another platform clearly, exit 1', async () => {
    const r = await tbuild(['build', '--root', root, '--platform', 'linux/s390x', work.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error TB_CLI_PLATFORM: cannot build for linux\/s390x on linux\/\w+: cross-platform builds are not supported yet\nhint: omit --platform/);
  });

  it('names a missing Dockerfile', async () => {
    const r = await tbuild(['build', '--root', root, '-f', 'nope/Dockerfile', work.dir], { cwd: work.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error TB_CLI_DOCKERFILE: cannot read Dockerfile nope/Dockerfile: no such file\nhint: pass its path with -f, or `-f -` to read it from stdin\n');
  });
});
