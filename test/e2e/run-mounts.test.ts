import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BRIDGE } from '@tbuild/executor';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';
import { httpServerOn } from '../support/services.ts';

/** Every file of an exported rootfs, as text where it is small, to search for leaks. */
function allText(dir: string): string {
  let text = '';
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).size < 1_000_000) text += fs.readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return text;
}

describe.skipIf(!isRoot)(`RUN --mount and network (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-mounts-');
  const SECRET = 'hunter2-do-not-leak';

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.writeFileSync(path.join(work.dir, 'secret.txt'), SECRET);
    fs.mkdirSync(path.join(work.dir, 'ctx/data'), { recursive: true });
    fs.writeFileSync(path.join(work.dir, 'ctx/data/input.txt'), 'from the context\n');
  });
  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  const build = async (dockerfile: string, args: string[] = []): Promise<{ code: number; stderr: string; out: string }> => {
    fs.writeFileSync(path.join(work.dir, 'ctx/Dockerfile'), dockerfile);
    const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
    const r = await tbuild(['build', '--root', root, '--progress=plain', '-o', `type=local,dest=${out}`, ...args, path.join(work.dir, 'ctx')]);
    return { code: r.code, stderr: r.stderr, out };
  };

  it('gives a secret to RUN as a file and as env, and never into the layer, config or history', async () => {
    const r = await build(
      'FROM busybox\nRUN --mount=type=secret,id=tok --mount=type=secret,id=tok,env=TOK,target=/run/other sh -c \'test "$(cat /run/secrets/tok)" = "$TOK" && echo ok > /seen && ls -l /run/secrets > /listing\'\n',
      ['--secret', `id=tok,src=${path.join(work.dir, 'secret.txt')}`, '-t', 'secret:1'],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(r.out, 'seen'), 'utf8')).toBe('ok\n');
    expect(fs.existsSync(path.join(r.out, 'run/secrets'))).toBe(false);
    expect(allText(r.out)).not.toContain(SECRET);
    expect(r.stderr).not.toContain(SECRET);
    const inspect = await tbuild(['inspect', '--root', root, 'secret:1']);
    expect(inspect.stdout).not.toContain(SECRET);
    const history = await tbuild(['history', '--root', root, '--format', 'json', 'secret:1']);
    expect(history.stdout).not.toContain(SECRET);
  });

  it('fails clearly when a required secret is not given', async () => {
    const r = await build('FROM busybox\nRUN --mount=type=secret,id=missing,required=true cat /run/secrets/missing\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:5: error TB_PLAN_SECRET_MISSING: secret "missing" is required but was not provided');
  });

  it('keeps a cache mount across builds and out of the layers', async () => {
    const df = 'FROM busybox\nARG N\nRUN --mount=type=cache,target=/var/cache/app sh -c \'echo "$N" >> /var/cache/app/runs; cat /var/cache/app/runs > /runs\'\n';
    const first = await build(df, ['--build-arg', 'N=one']);
    expect(first.code, first.stderr).toBe(0);
    const second = await build(df, ['--build-arg', 'N=two']);
    expect(second.code, second.stderr).toBe(0);
    expect(fs.readFileSync(path.join(second.out, 'runs'), 'utf8')).toBe('one\ntwo\n');
    // The mount point was only a stub for the mount: it leaves no trace in the layer.
    expect(fs.existsSync(path.join(second.out, 'var/cache/app'))).toBe(false);
  });

  it('locks a cache named by its target path (sharing=locked), and keeps one of its own for another owner', async () => {
    // Docker's own apt example: the default id is the target path, which is no file name.
    const df = [
      'FROM busybox',
      'ARG N',
      'RUN --mount=type=cache,target=/var/cache/apt,sharing=locked sh -c \'echo "$N" >> /var/cache/apt/runs; cat /var/cache/apt/runs > /runs\'',
      'RUN --mount=type=cache,target=/c,id=apt-shared,uid=1000,gid=1000,mode=0750 sh -c \'stat -c "%u %g %a" /c > /owned; touch /c/mine\'',
      'RUN --mount=type=cache,target=/c,id=apt-shared sh -c \'stat -c "%u %g %a" /c > /plain; ls /c > /plain-ls\'',
      '',
    ].join('\n');
    const first = await build(df, ['--build-arg', 'N=one']);
    expect(first.code, first.stderr).toBe(0);
    const second = await build(df, ['--build-arg', 'N=two']);
    expect(second.code, second.stderr).toBe(0);
    expect(fs.readFileSync(path.join(second.out, 'runs'), 'utf8')).toBe('one\ntwo\n');
    expect(fs.readFileSync(path.join(first.out, 'owned'), 'utf8')).toBe('1000 1000 750\n');
    // Same id, no owner: BuildKit's other cache, not the one the uid=1000 mount wrote.
    expect(fs.readFileSync(path.join(first.out, 'plain'), 'utf8')).toBe('0 0 755\n');
    expect(fs.readFileSync(path.join(first.out, 'plain-ls'), 'utf8')).toBe('');
  });

  it('starts a cache mount with from= as a copy of that stage, then keeps it', async () => {
    const df = [
      'FROM busybox AS seed',
      'RUN mkdir /seed && echo seeded > /seed/s',
      'FROM busybox',
      'ARG N',
      'RUN --mount=type=cache,target=/c,from=seed,source=/seed sh -c \'echo "$N" >> /c/runs; cat /c/s /c/runs > /got\'',
      '',
    ].join('\n');
    const first = await build(df, ['--build-arg', 'N=one']);
    expect(first.code, first.stderr).toBe(0);
    expect(fs.readFileSync(path.join(first.out, 'got'), 'utf8')).toBe('seeded\none\n');
    const second = await build(df, ['--build-arg', 'N=two']);
    expect(second.code, second.stderr).toBe(0);
    expect(fs.readFileSync(path.join(second.out, 'got'), 'utf8')).toBe('seeded\none\ntwo\n');
  });

  it('binds the context and another stage read-only, and gives RUN a tmpfs', async () => {
    const r = await build(
      [
        'FROM busybox AS tools',
        'RUN echo tool-output > /tool.txt',
        'FROM busybox',
        'RUN --mount=type=bind,source=data,target=/mnt/ctx --mount=type=bind,from=tools,target=/mnt/tools --mount=type=tmpfs,target=/scratch \\',
        '    sh -c \'cat /mnt/ctx/input.txt /mnt/tools/tool.txt > /result; (touch /mnt/ctx/x 2>/dev/null && echo writable || echo readonly) >> /result; echo temp > /scratch/t; grep -q "/scratch tmpfs" /proc/mounts && echo tmpfs >> /result\'',
        '',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(r.out, 'result'), 'utf8')).toBe('from the context\ntool-output\nreadonly\ntmpfs\n');
    expect(fs.existsSync(path.join(r.out, 'scratch/t'))).toBe(false);
    expect(fs.existsSync(path.join(r.out, 'mnt'))).toBe(false);
  });

  it('mounts another stage read-only unless rw, and throws rw writes away', async () => {
    const r = await build(
      [
        'FROM busybox AS tools',
        'RUN echo tool-output > /tool.txt',
        'FROM busybox',
        'RUN --mount=type=bind,from=tools,target=/ro (touch /ro/x 2>/dev/null && echo writable || echo readonly) > /result',
        'RUN --mount=type=bind,from=tools,target=/rw,rw sh -c \'echo changed > /rw/tool.txt && echo new > /rw/new && cat /rw/tool.txt /rw/new >> /result\'',
        'COPY --from=tools / /tools/',
        '',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(r.out, 'result'), 'utf8')).toBe('readonly\nchanged\nnew\n');
    expect(fs.readFileSync(path.join(r.out, 'tools/tool.txt'), 'utf8')).toBe('tool-output\n');
    expect(fs.existsSync(path.join(r.out, 'tools/new'))).toBe(false);
    expect(fs.existsSync(path.join(r.out, 'rw'))).toBe(false);
  });

  it('adds --add-host entries to RUN steps\' /etc/hosts, host-gateway naming the build host on the bridge', async () => {
    const { server, port } = await httpServerOn((_req, res) => res.end('via host-gateway\n'));
    try {
      const df = `FROM busybox\nRUN cat /etc/hosts > /hosts && wget -q -O /got http://host.docker.internal:${port}/\n`;
      const r = await build(df, ['--add-host', 'reg.example:10.1.2.3', '--add-host', 'host.docker.internal:host-gateway', '--add-host', 'v6=[fd00::5]']);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(r.out, 'hosts'), 'utf8')).toBe(`127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\treg.example\n${DEFAULT_BRIDGE.gateway}\thost.docker.internal\nfd00::5\tv6\n`);
      expect(fs.readFileSync(path.join(r.out, 'got'), 'utf8')).toBe('via host-gateway\n');
      const bad = await build(df, ['--add-host', 'nocolon']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('invalid --add-host "nocolon"');
    } finally {
      server.close();
    }
  });

  it('gives RUNs of two builds at once namespaces and addresses of their own', async () => {
    // A barrier: no RUN gets its answer before all eight have asked, so all eight namespaces are in use at once.
    const waiting: http.ServerResponse[] = [];
    const { server, port } = await httpServerOn((_req, res) => {
      waiting.push(res);
      if (waiting.length === 8) for (const w of waiting.splice(0)) w.end('ok\n');
    });
    const giveUp = setTimeout(() => {
      for (const w of waiting.splice(0)) w.end('timeout\n');
    }, 30_000);
    try {
      const stage = (i: number): string => `FROM busybox AS s${i}\nRUN ip -4 -o addr show dev eth0 | awk '{print $4}' > /addr && wget -q -O /got http://${DEFAULT_BRIDGE.gateway}:${port}/\n`;
      const df = [0, 1, 2, 3].map(stage).join('') + 'FROM busybox\n' + [0, 1, 2, 3].map((i) => `COPY --from=s${i} /addr /addr${i}\nCOPY --from=s${i} /got /got${i}\n`).join('');
      fs.mkdirSync(path.join(work.dir, 'ctx2'), { recursive: true });
      fs.writeFileSync(path.join(work.dir, 'ctx2/Dockerfile'), df);
      const outs = [0, 1].map((i) => path.join(work.dir, `conc-${i}`));
      const runs = await Promise.all(outs.map((out) => tbuild(['build', '--root', root, '--no-cache', '--progress=plain', '-o', `type=local,dest=${out}`, path.join(work.dir, 'ctx2')])));
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      for (const out of outs) for (const i of [0, 1, 2, 3]) expect(fs.readFileSync(path.join(out, `got${i}`), 'utf8')).toBe('ok\n');
      const addrs = outs.flatMap((out) => [0, 1, 2, 3].map((i) => fs.readFileSync(path.join(out, `addr${i}`), 'utf8').trim()));
      for (const a of addrs) expect(a).toMatch(/^10\.89\.\d+\.\d+\/16$/);
      expect(new Set(addrs).size).toBe(8);
    } finally {
      clearTimeout(giveUp);
      server.close();
    }
  });

  it('runs RUN on the bridge by default (out through NAT, not to the host loopback), with only lo under --network none, and on the host network with --network host', async () => {
    const { server, port } = await httpServerOn((_req, res) => res.end('hello from the host\n'));
    const fetch = (url: string, file: string): string => `(wget -q -O /${file} ${url} || echo unreachable > /${file})`;
    const df = `FROM busybox\nRUN ls /sys/class/net > /nets && ${fetch(`http://${DEFAULT_BRIDGE.gateway}:${port}/`, 'gateway')} && ${fetch(`http://127.0.0.1:${port}/`, 'loopback')} && cat /etc/resolv.conf > /resolv\n`;
    const read = (out: string, f: string): string => fs.readFileSync(path.join(out, f), 'utf8');
    const leftovers = (): string[] => [...(fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []).filter((n) => n.startsWith(`tbuild-`)), ...(fs.existsSync('/run/tbuild-net/leases') ? fs.readdirSync('/run/tbuild-net/leases') : [])];
    try {
      const bridged = await build(df, ['--no-cache']);
      expect(bridged.code, bridged.stderr).toBe(0);
      expect(read(bridged.out, 'nets').trim().split('\n')).toEqual(['eth0', 'lo']);
      expect(read(bridged.out, 'gateway')).toBe('hello from the host\n');
      expect(read(bridged.out, 'loopback')).toBe('unreachable\n');
      expect(read(bridged.out, 'resolv')).not.toMatch(/nameserver\s+127\./);
      expect(leftovers()).toEqual([]);

      const none = await build(df, ['--no-cache', '--network', 'none']);
      expect(none.code, none.stderr).toBe(0);
      expect(read(none.out, 'nets').trim().split('\n')).toEqual(['lo']);
      expect(read(none.out, 'gateway')).toBe('unreachable\n');

      const host = await build(df, ['--no-cache', '--network', 'host']);
      expect(host.code, host.stderr).toBe(0);
      expect(read(host.out, 'nets').trim().split('\n').sort()).toEqual(fs.readdirSync('/sys/class/net').sort());
      expect(read(host.out, 'loopback')).toBe('hello from the host\n');
      expect(leftovers()).toEqual([]);
    } finally {
      server.close();
    }
  });
});
