import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, TBUILD_BIN, THIN_CLIENT } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';

/** The shell blocks of a README section, one command per entry (comments dropped). */
function commandsOf(readme: string, heading: string): string[] {
  const section = readme.slice(readme.indexOf(heading));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1]!);
  return blocks.flatMap((b) =>
    b
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
}

describe.skipIf(!isRoot)(`README quick start, run as written (${NEEDS_ROOT})`, () => {
  const t = tempDir('tbuild-readme-');
  afterAll(() => t.cleanup());

  it('sets up the example and builds it, then every step is cached', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const cmds = commandsOf(readme, '## Quick start');
    expect(cmds.slice(0, 2)).toEqual(['scripts/setup.sh', 'tbuild -t hello examples/hello']);
    // `tbuild` on PATH is this checkout's binary, linked as setup.sh links it (the thin client
    // where it was compiled); the store is private to the test.
    const bin = path.join(t.dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(fs.existsSync(THIN_CLIENT) ? THIN_CLIENT : TBUILD_BIN, path.join(bin, 'tbuild'));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TBUILD_ROOT: path.join(t.dir, 'store'), CI: '1' };
    const sh = (cmd: string, cwd = REPO): { code: number; out: string } => {
      const r = spawnSync('sh', ['-c', cmd], { cwd, env, encoding: 'utf8', timeout: 120_000 });
      return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
    };
    // setup.sh installs packages, builds and links the CLI (what CI's own setup did already);
    // its last example step is what the next command needs.
    const setup = fs.readFileSync(path.join(REPO, 'scripts/setup.sh'), 'utf8');
    expect(setup).toContain('examples/hello/make-base.sh');
    expect(sh('examples/hello/make-base.sh').code).toBe(0);

    const first = sh(cmds[1]!);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('tagged docker.io/library/hello:latest');
    const again = sh(cmds[1]!);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/6 steps, 6 cached, 0 run/);

    try {
      for (const cmd of cmds.slice(2)) {
        const r = sh(cmd);
        expect(r.code, `${cmd}\n${r.out}`).toBe(0);
        if (cmd.startsWith('tbuild run')) expect(r.out).toBe('hello from tbuild: 5 words.txt\n');
      }
      expect(fs.statSync(path.join(REPO, 'hello.tar')).size).toBeGreaterThan(1000);
    } finally {
      fs.rmSync(path.join(REPO, 'hello.tar'), { force: true });
    }
  });
});
