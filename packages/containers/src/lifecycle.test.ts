import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@tbuild/cache';
import { putImage, tagImage, getImage } from '@tbuild/registry';
import { busyboxImage } from '../../../test/support/services.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../../../test/support/root.ts';
import { ContainerStore } from './container-store.ts';
import { createContainer, type CreateOptions } from './create.ts';
import { execInContainer } from './exec.ts';
import { inspectContainer, listContainers } from './inspect.ts';
import { killContainer, removeContainer, restartContainer, startContainer, stopContainer, waitContainer, type SupervisorLauncher } from './lifecycle.ts';
import { followLog, readLogSnapshot, type LogRecord } from './log-file.ts';
import { STDIN_TAG } from './attach-marker.ts';
import { identityOf, isAlive } from './process-identity.ts';
import { reconcileState } from './state.ts';
import { bundledSupervisor } from './test-support.ts';

describe.skipIf(!isRoot)(`container lifecycle with real runc (${NEEDS_ROOT})`, () => {
  let tmp: ReturnType<typeof tempDir>;
  let cs: ContainerStore;
  let launch: SupervisorLauncher;
  let cleanupBundle: () => void;

  beforeAll(async () => {
    tmp = tempDir('tbuild-containers-');
    const store = await Store.open(tmp.dir);
    cs = await ContainerStore.open(store);
    await busyboxImage(store, 'busybox:latest');
    const bb = await getImage(store, 'busybox:latest');
    const put = await putImage(store, {
      config: { ...bb.config, config: { ...bb.config.config, StopSignal: 'SIGUSR1' } },
      layers: bb.manifest.layers,
    });
    await tagImage(store, put.manifestDigest, 'stopsig:1');
    ({ launch, cleanup: cleanupBundle } = await bundledSupervisor());
  });

  afterAll(async () => {
    for (const c of cs?.list() ?? []) await removeContainer(cs, c.id, { force: true, volumes: true }).catch(() => undefined);
    cleanupBundle?.();
    tmp?.cleanup();
  });

  const sh = (script: string, extra: Partial<CreateOptions> = {}): CreateOptions => ({ image: 'busybox', command: ['sh', '-c', script], ...extra });
  const text = (id: string, stream?: LogRecord['stream']): string =>
    readLogSnapshot(cs.paths(id).log)
      .records.filter((r) => !stream || r.stream === stream)
      .map((r) => r.log)
      .join('');
  async function waitForLog(id: string, needle: string): Promise<void> {
    while (!text(id).includes(needle)) {
      const s = cs.readState(id);
      if (s.status === 'exited') throw new Error(`container exited before printing ${needle}: ${text(id)} ${s.error}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('runs the command with docker override rules and reports output and exit code', async () => {
    const rec = await createContainer(cs, sh('echo out; echo err >&2; echo "$FOO $HOME"; pwd; id -u; exit 3', { env: ['FOO=bar'], workdir: '/work', user: 'app' }));
    const started = await startContainer(cs, rec.id, launch);
    expect(started.error).toBe('');
    const end = await waitContainer(cs, rec.id);
    expect(end).toMatchObject({ status: 'exited', exitCode: 3, oomKilled: false });
    expect(text(rec.id, 'stdout')).toBe('out\nbar /home/app\n/work\n1000\n');
    expect(text(rec.id, 'stderr')).toBe('err\n');
    const info = (await inspectContainer(cs, rec.name)) as { State: { ExitCode: number; StartedAt: string; FinishedAt: string }; Config: { Env: string[] } };
    expect(info.State.ExitCode).toBe(3);
    expect(Date.parse(info.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(info.State.StartedAt));
    expect(info.Config.Env).toContain('FOO=bar');
  });

  it('reports a command that does not exist as exit code 127 with the reason', async () => {
    const rec = await createContainer(cs, { image: 'busybox', command: ['/no/such/program'] });
    const s = await startContainer(cs, rec.id, launch);
    expect(s.status).toBe('exited');
    expect(s.exitCode).toBe(127);
    expect(s.error).toMatch(/no\/such\/program/);
  });

  it('stop sends the image STOPSIGNAL; a detached container keeps running meanwhile', async () => {
    const rec = await createContainer(cs, { image: 'stopsig:1', command: ['sh', '-c', "trap 'echo got usr1; exit 3' USR1; echo ready; while true; do sleep 0.1; done"] });
    await startContainer(cs, rec.id, launch);
    await waitForLog(rec.id, 'ready');
    expect((await listContainers(cs)).map((c) => c.Names)).toContain(rec.name);
    const s = await stopContainer(cs, rec.id, { timeoutSec: 60 });
    expect(s).toMatchObject({ status: 'exited', exitCode: 3 });
    expect(text(rec.id)).toContain('got usr1');
    expect((await listContainers(cs)).map((c) => c.Names)).not.toContain(rec.name);
    expect((await listContainers(cs, { all: true })).map((c) => c.Names)).toContain(rec.name);
  });

  it('stop falls back to SIGKILL after the timeout; restart runs it again; rm removes it', async () => {
    // PID 1 of a pid namespace ignores SIGTERM unless it installs a handler: only SIGKILL ends it.
    const rec = await createContainer(cs, sh('echo run; while true; do sleep 0.1; done'));
    await startContainer(cs, rec.id, launch);
    await waitForLog(rec.id, 'run');
    const stopped = await stopContainer(cs, rec.name, { timeoutSec: 1 });
    expect(stopped).toMatchObject({ status: 'exited', exitCode: 137 });
    const again = await restartContainer(cs, rec.name, launch, { timeoutSec: 1 });
    expect(again.status).toBe('running');
    expect(again.startedAt! >= stopped.finishedAt!).toBe(true);
    await expect(removeContainer(cs, rec.name)).rejects.toMatchObject({ code: 'TB_CONTAINER_RUNNING' });
    await removeContainer(cs, rec.name, { force: true });
    expect(fs.existsSync(cs.paths(rec.id).dir)).toBe(false);
    expect(() => cs.resolve(rec.name)).toThrow(/no such container/);
    expect(await cs.store.getRef(`container:${rec.id}`)).toBeUndefined();
  });

  it('follows the log of a running container until it exits', async () => {
    const rec = await createContainer(cs, sh('for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done'));
    await startContainer(cs, rec.id, launch);
    const seen: string[] = [];
    let done = false;
    const ended = waitContainer(cs, rec.id).then(() => (done = true));
    await followLog(cs.paths(rec.id).log, 0, { onRecord: (r) => seen.push(r.log), done: () => done, pollMs: 20 });
    await ended;
    expect(seen.join('')).toBe('line1\nline2\nline3\nline4\nline5\n');
  });

  it('exec runs in a running container with its env and user; kill signals it', async () => {
    const rec = await createContainer(cs, sh('echo up; while true; do sleep 0.1; done', { env: ['X=from-run'], user: '1000' }));
    await startContainer(cs, rec.id, launch);
    await waitForLog(rec.id, 'up');
    let out = '';
    const sink = { write: (b: Buffer | string) => ((out += b.toString()), true) } as unknown as NodeJS.WritableStream;
    const code = await execInContainer(cs, rec.name, { args: ['sh', '-c', 'echo "$X $Y $(id -u)"; exit 4'], env: ['Y=exec'], stdout: sink, stderr: sink });
    expect(code).toBe(4);
    expect(out).toBe('from-run exec 1000\n');
    await killContainer(cs, rec.name, 'KILL');
    expect((await waitContainer(cs, rec.id)).exitCode).toBe(137);
    await expect(execInContainer(cs, rec.name, { args: ['true'], stdout: sink, stderr: sink })).rejects.toMatchObject({ code: 'TB_CONTAINER_NOT_RUNNING' });
  });

  it('keeps the truth when the supervisor dies: still running via runc, then stoppable', async () => {
    const rec = await createContainer(cs, sh('echo alive; while true; do sleep 0.1; done'));
    const s = await startContainer(cs, rec.id, launch);
    await waitForLog(rec.id, 'alive');
    process.kill(s.supervisor!.pid, 'SIGKILL');
    while (isAlive(s.supervisor)) await new Promise((r) => setTimeout(r, 20));
    const seen = await reconcileState(cs, rec);
    expect(seen.status).toBe('running');
    expect(seen.error).toMatch(/supervisor/);
    const end = await stopContainer(cs, rec.id, { timeoutSec: 0 });
    expect(end.status).toBe('exited');
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cs.paths(rec.id).rootfs);
  });

  it('ends stdin when the attached client that was to send it dies before connecting; -i alone keeps it open', async () => {
    const stand = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const rec = await createContainer(cs, sh('echo up; cat; echo eof', { openStdin: true }));
      const id = identityOf(stand.pid!)!;
      fs.writeFileSync(path.join(cs.paths(rec.id).attach, `${id.pid}.${id.start}.${STDIN_TAG}`), '');
      const detached = await createContainer(cs, sh('echo up; cat; echo eof', { openStdin: true }));
      await startContainer(cs, rec.id, launch);
      await startContainer(cs, detached.id, launch);
      await waitForLog(rec.id, 'up');
      await new Promise((r) => setTimeout(r, 300));
      expect(cs.readState(rec.id).status).toBe('running');
      stand.kill('SIGKILL');
      expect((await waitContainer(cs, rec.id)).exitCode).toBe(0);
      expect(text(rec.id)).toBe('up\neof\n');
      expect(cs.readState(detached.id).status).toBe('running');
      await removeContainer(cs, detached.id, { force: true });
    } finally {
      stand.kill('SIGKILL');
    }
  });

  it('--rm removes the container after it exits', async () => {
    const rec = await createContainer(cs, sh('echo bye', { autoRemove: true }));
    await startContainer(cs, rec.id, launch);
    // The supervisor removes the record first and then the rest: wait for the whole dir (bounded).
    const deadline = Date.now() + 20_000;
    while (fs.existsSync(cs.paths(rec.id).dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(fs.existsSync(cs.paths(rec.id).dir)).toBe(false);
  });
});
