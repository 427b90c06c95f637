import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

describe.skipIf(!isRoot)(`tbuild bake (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-bake-');

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    const repo = work.dir;
    fs.mkdirSync(path.join(repo, 'services'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'services/shared.txt'), 'shared library\n');
    fs.writeFileSync(
      path.join(repo, 'services/Dockerfile'),
      [
        'FROM busybox AS base',
        'COPY shared.txt /lib/shared.txt',
        'RUN echo base-built > /lib/base-marker',
        '',
        'FROM base AS api',
        'ARG NAME',
        'RUN echo "service $NAME" > /service',
        '',
        'FROM base AS web',
        'RUN echo "web" > /service',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(repo, 'docker-bake.json'),
      JSON.stringify({
        group: { default: { targets: ['api', 'worker', 'web'] } },
        target: {
          common: { context: 'services' },
          api: { inherits: ['common'], target: 'api', args: { NAME: 'api' }, tags: ['api:dev'] },
          worker: { inherits: ['common'], target: 'api', args: { NAME: 'worker' }, tags: ['worker:dev'] },
          web: { inherits: ['common'], target: 'web', tags: ['web:dev'] },
        },
      }),
    );
  });

  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('builds three targets sharing a base stage in one run, the shared steps once', async () => {
    const r = await tbuild(['bake', '--root', root, '--progress=rawjson'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    const started = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; step?: { text: string } })
      .filter((e) => e.type === 'step-start')
      .map((e) => e.step!.text);
    expect(started.filter((t) => t === 'RUN echo base-built > /lib/base-marker')).toHaveLength(1);
    expect(started.filter((t) => t === 'COPY shared.txt /lib/shared.txt')).toHaveLength(1);
    expect(started.filter((t) => t.startsWith('RUN echo "service $NAME"'))).toHaveLength(2);
    const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.map((l) => l[0])).toEqual(['api', 'worker', 'web']);
    expect(new Set(lines.map((l) => l[1])).size).toBe(3);

    const out = path.join(work.dir, 'worker-fs');
    const exp = await tbuild(['build', '--root', root, '--target', 'api', '--build-arg', 'NAME=worker', '-o', `type=local,dest=${out}`, '-q', 'services'], { cwd: work.dir });
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout.trim()).toBe(lines[1]![1]);
    expect(fs.readFileSync(path.join(out, 'service'), 'utf8')).toBe('service worker\n');
    expect(fs.readFileSync(path.join(out, 'lib/base-marker'), 'utf8')).toBe('base-built\n');
  });

  it("takes buildx's secret, network, entitlements, contexts, extra-hosts, no-cache-filter and dockerfile-inline target attributes", async () => {
    fs.writeFileSync(path.join(work.dir, 'token.txt'), 's3cret');
    const inline = 'FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /len && ls /sys/class/net > /nets && grep reg.example /etc/hosts > /hosts\nRUN --network=host ls /sys/class/net > /hostnets\nCOPY --from=extra note.txt /note.txt\n';
    fs.mkdirSync(path.join(work.dir, 'extra'), { recursive: true });
    fs.writeFileSync(path.join(work.dir, 'extra/note.txt'), 'from a named context\n');
    const bakeFile = (entitlements: string[]): string =>
      JSON.stringify({
        target: { sec: { context: 'services', 'dockerfile-inline': inline, secret: ['id=tok,src=token.txt'], network: 'none', entitlements, 'no-cache-filter': ['0'], contexts: { extra: 'extra' }, 'extra-hosts': { 'reg.example': '10.1.2.3' }, output: [`type=local,dest=${path.join(work.dir, 'sec-fs')}`] } },
      });
    fs.writeFileSync(path.join(work.dir, 'sec-bake.json'), bakeFile([]));
    const refused = await tbuild(['bake', '--root', root, '-f', 'sec-bake.json'], { cwd: work.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('TB_PLAN_ENTITLEMENT: RUN --network=host needs the network.host entitlement');
    fs.writeFileSync(path.join(work.dir, 'sec-bake.json'), bakeFile(['network.host']));
    const r = await tbuild(['bake', '--root', root, '-f', 'sec-bake.json'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    const out = path.join(work.dir, 'sec-fs');
    expect(fs.readFileSync(path.join(out, 'len'), 'utf8').trim()).toBe('6');
    expect(fs.readFileSync(path.join(out, 'nets'), 'utf8')).toBe('lo\n');
    expect(fs.readFileSync(path.join(out, 'hostnets'), 'utf8').trim().split('\n').sort()).toEqual(fs.readdirSync('/sys/class/net').sort());
    expect(fs.readFileSync(path.join(out, 'note.txt'), 'utf8')).toBe('from a named context\n');
    expect(fs.readFileSync(path.join(out, 'hosts'), 'utf8')).toBe('10.1.2.3\treg.example\n');
    fs.writeFileSync(path.join(work.dir, 'sec-bake.json'), JSON.stringify({ target: { sec: { context: 'services', 'extra-hosts': { 'reg.example': 'nowhere' } } } }));
    const badHost = await tbuild(['bake', '--root', root, '-f', 'sec-bake.json'], { cwd: work.dir });
    expect(badHost.stderr).toContain('TB_BAKE_INVALID: sec-bake.json: target "sec": invalid extra-hosts entry "reg.example": "nowhere"');
    fs.writeFileSync(path.join(work.dir, 'sec-bake.json'), JSON.stringify({ target: { sec: { context: 'services', network: 'bridged' } } }));
    const bad = await tbuild(['bake', '--root', root, '-f', 'sec-bake.json'], { cwd: work.dir });
    expect(bad.stderr).toMatch(/TB_BAKE_INVALID: sec-bake.json: target "sec" has network "bridged"/);
  });

  it('names an unknown target with a suggestion and exits 1', async () => {
    const r = await tbuild(['bake', '--root', root, 'wrker'], { cwd: work.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error TB_BAKE_INVALID: docker-bake.json: no target or group named "wrker"\nhint: did you mean "worker"?\n');
  });
});
