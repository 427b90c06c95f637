import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BRIDGE } from '@tbuild/executor';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';
import { httpServerOn, startDockerd, type TestDockerd } from '../support/services.ts';
import { containerCli, type CliRun } from './support/cli.ts';

/** `read()` again every 50 ms, at most 100 times, until `done` holds of what it gave; what it last gave. */
async function polled<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 1; i < 100 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

describe.skipIf(!isRoot)(`tbuild run/ps/stop/logs/commit end to end (${NEEDS_ROOT})`, () => {
  let seeded: Awaited<ReturnType<typeof seededStore>>;
  let cli: Awaited<ReturnType<typeof containerCli>>;
  let work: ReturnType<typeof tempDir>;
  let tb: (args: string[]) => Promise<CliRun>;

  beforeAll(async () => {
    seeded = await seededStore();
    cli = await containerCli();
    work = tempDir('tbuild-containers-e2e-');
    tb = (args) => cli.tbuild(args, { TBUILD_ROOT: seeded.root });
    fs.writeFileSync(
      path.join(work.dir, 'Dockerfile'),
      ['FROM busybox', 'RUN echo built > /built.txt', 'STOPSIGNAL SIGUSR1', 'EXPOSE 8000 53/udp', 'CMD ["sh", "-c", "cat /built.txt; exit 5"]', ''].join('\n'),
    );
    const b = await tb(['build', '-t', 'app:1', work.dir]);
    if (b.code !== 0) throw new Error(`build failed: ${b.stderr}`);
  });

  afterAll(async () => {
    if (tb) for (const id of (await tb(['ps', '-a', '-q'])).stdout.split('\n').filter(Boolean)) await tb(['rm', '-f', '-v', id]);
    cli?.cleanup();
    work?.cleanup();
    seeded?.cleanup();
  });

  it('runs a built image: its output on stdout, its exit code as ours, --rm leaves nothing', async () => {
    const r = await tb(['run', '--rm', 'app:1']);
    expect(r.stdout).toBe('built\n');
    expect(r.code).toBe(5);
    const ps = await tb(['ps', '-a', '--format', 'json']);
    expect(ps.stdout.trim()).toBe('');
  });

  it('run -d, logs -f, ps, stop with the STOPSIGNAL, restart, rm', async () => {
    const script = "trap 'echo stopping; exit 0' USR1; i=0; while [ $i -lt 20 ]; do echo tick$i; i=$((i+1)); sleep 0.05; done; while true; do sleep 0.1; done";
    const d = await tb(['run', '-d', '--name', 'web', '--', 'app:1', 'sh', '-c', script]);
    expect(d.code).toBe(0);
    expect(d.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const ps = await tb(['ps', '--format', 'json']);
    expect(ps.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).Names)).toEqual(['web']);
    const following = tb(['logs', '-f', 'web']);
    const stop = await tb(['stop', '-t', '60', 'web']);
    expect(stop).toMatchObject({ code: 0, stdout: 'web\n' });
    const logs = await following;
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('stopping\n');
    const inspect = JSON.parse((await tb(['container', 'inspect', 'web'])).stdout) as { State: { Status: string; ExitCode: number } }[];
    expect(inspect[0]!.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    const tail = await tb(['logs', '--tail', '1', 'web']);
    expect(tail.stdout).toBe('stopping\n');
    expect((await tb(['restart', '-t', '1', 'web'])).code).toBe(0);
    expect(JSON.parse((await tb(['ps', '--format', 'json'])).stdout).State).toBe('running');
    expect((await tb(['rm', 'web'])).code).toBe(1);
    expect((await tb(['rm', '-f', 'web'])).code).toBe(0);
    expect((await tb(['ps', '-a', '-q'])).stdout).toBe('');
  });

  it("puts a container on tbuild's bridge by default, as docker run does; --network none keeps only loopback", async () => {
    const { server, port } = await httpServerOn((_req, res) => res.end('hello container\n'));
    const leased = (ip: string): boolean => fs.existsSync(`/run/tbuild-net/leases/${ip}`);
    try {
      const script = `ls /sys/class/net | tr '\\n' ' '; echo; grep -c "$(hostname)" /etc/hosts; wget -q -O - http://${DEFAULT_BRIDGE.gateway}:${port}/ || echo unreachable`;
      const bridged = await tb(['run', '--rm', '--hostname', 'boxy', '--', 'app:1', 'sh', '-c', script]);
      expect(bridged.stdout, bridged.stderr).toBe('eth0 lo \n1\nhello container\n');
      const none = await tb(['run', '--rm', '--network', 'none', '--', 'app:1', 'sh', '-c', script]);
      expect(none.stdout, none.stderr).toBe('lo \n1\nunreachable\n');

      const d = await tb(['run', '-d', '--name', 'netd', '--', 'app:1', 'sleep', '30']);
      expect(d.code, d.stderr).toBe(0);
      const ip = await polled(async () => JSON.parse((await tb(['inspect', 'netd'])).stdout)[0].NetworkSettings.IPAddress as string, Boolean);
      expect(ip).toMatch(/^10\.89\./);
      expect(JSON.parse((await tb(['inspect', 'netd'])).stdout)[0].NetworkSettings).toMatchObject({ Gateway: DEFAULT_BRIDGE.gateway, IPPrefixLen: DEFAULT_BRIDGE.prefix });
      expect(leased(ip)).toBe(true);
      expect((await tb(['rm', '-f', 'netd'])).code).toBe(0);
      // The supervisor deletes the namespace and frees the address as the container ends.
      await polled(async () => leased(ip), (held) => !held);
      expect(leased(ip)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('publishes a container port on the host with -p (any free port with 127.0.0.1::PORT), and stops forwarding when it ends', async () => {
    const httpd = 'mkdir -p /www && echo hi-from-httpd > /www/index.html && exec httpd -f -p 8000 -h /www';
    const d = await tb(['run', '-d', '--name', 'pub', '-p', '127.0.0.1::8000', '--', 'app:1', 'sh', '-c', httpd]);
    expect(d.code, d.stderr).toBe(0);
    const hostPort = await polled(async () => (JSON.parse((await tb(['inspect', 'pub'])).stdout)[0].NetworkSettings.Ports['8000/tcp']?.[0]?.HostPort ?? '') as string, Boolean);
    expect(hostPort).toMatch(/^\d+$/);
    const body = await polled(() => fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text()).catch(() => ''), Boolean);
    expect(body).toBe('hi-from-httpd\n');
    expect(JSON.parse((await tb(['ps', '--format', 'json'])).stdout).Ports).toBe(`127.0.0.1:${hostPort}->8000/tcp`);
    expect((await tb(['port', 'pub'])).stdout).toBe(`8000/tcp -> 127.0.0.1:${hostPort}\n`);
    expect((await tb(['port', 'pub', '8000'])).stdout).toBe(`127.0.0.1:${hostPort}\n`);
    expect((await tb(['port', 'pub', '9'])).stderr).toMatch(/TB_CONTAINER_PORT: no public port "9\/tcp" published for pub/);
    expect((await tb(['rm', '-f', 'pub'])).code).toBe(0);
    await expect(fetch(`http://127.0.0.1:${hostPort}/`)).rejects.toThrow();

    // -P: every EXPOSEd TCP port (8000; not 53/udp) on a free host port.
    expect((await tb(['run', '-d', '--name', 'puball', '-P', '--', 'app:1', 'sh', '-c', httpd])).code).toBe(0);
    const listed = await polled(async () => (await tb(['port', 'puball'])).stdout, Boolean);
    const anyPort = /^8000\/tcp -> 0\.0\.0\.0:(\d+)\n$/.exec(listed)?.[1];
    expect(anyPort, listed).toBeDefined();
    const viaAll = await polled(() => fetch(`http://127.0.0.1:${anyPort}/`).then((r) => r.text()).catch(() => ''), Boolean);
    expect(viaAll).toBe('hi-from-httpd\n');
    expect((await tb(['rm', '-f', 'puball'])).code).toBe(0);

    // A host port already taken fails the start, as docker's "port is already allocated".
    const { server: taken, port: takenPort } = await httpServerOn(undefined, '127.0.0.1');
    try {
      const busy = await tb(['run', '--rm', '-p', `127.0.0.1:${takenPort}:80`, 'app:1']);
      expect(busy.code).toBe(125);
      expect(busy.stderr).toMatch(/TB_CONTAINER_PORT: cannot publish 127\.0\.0\.1:\d+: the port is already in use/);
    } finally {
      taken.close();
    }
  });

  it('refuses -p off the bridge and for UDP with a clear message', async () => {
    const host = await tb(['run', '--network', 'host', '-p', '8080:80', 'app:1']);
    expect(host.code).toBe(1);
    expect(host.stderr).toMatch(/TB_CONTAINER_UNSUPPORTED: -p needs the bridge network, not --network host/);
    const udp = await tb(['run', '-p', '53:53/udp', 'app:1']);
    expect(udp.stderr).toMatch(/TB_CONTAINER_UNSUPPORTED: publishing udp ports is not supported/);
    const bad = await tb(['run', '-p', '80:abc', 'app:1']);
    expect(bad.stderr).toMatch(/TB_CONTAINER_OPTION_INVALID: invalid -p "80:abc"/);
  });

  it('commit of a changed container runs, and its saved form loads into docker', async () => {
    const r = await tb(['run', '--name', 'changer', '--', 'app:1', 'sh', '-c', 'echo patched > /patch.txt']);
    expect(r.code).toBe(0);
    const c = await tb(['commit', '-c', 'CMD ["cat", "/patch.txt", "/built.txt"]', '-m', 'patch', 'changer', 'app:patched']);
    expect(c.code).toBe(0);
    expect(c.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = await tb(['run', '--rm', 'app:patched']);
    expect(run).toMatchObject({ code: 0, stdout: 'patched\nbuilt\n' });
    const pruned = await tb(['container', 'prune']);
    expect(pruned.stdout).toContain('Deleted Containers:');
    const tar = path.join(work.dir, 'patched.tar');
    expect((await tb(['save', '-o', tar, 'app:patched'])).code).toBe(0);
    const docker: TestDockerd | undefined = await startDockerd();
    if (!docker) return; // dockerd cannot run here; the tbuild half above still ran
    try {
      const load = await docker.docker(['load', '-i', tar]);
      expect(load.code, load.stderr).toBe(0);
      const hist = await docker.docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', 'app:patched']);
      expect(JSON.parse(hist.stdout)).toEqual(['cat', '/patch.txt', '/built.txt']);
    } finally {
      await docker.stop();
    }
  });
});
