import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError, type SourceFile } from '@tbuild/errors';
import type { RunSpec, SourceRef, Step } from '@tbuild/planner';
import type { ContainerRuntime, RunMount, RunRequest } from '../runtime/container-runtime.ts';
import { buildHostsFile } from '../runtime/oci-spec.ts';
import { contextOf } from './named-contexts.ts';
import { resolveUser } from '../runtime/resolve-user.ts';
import { resolveIn } from '../copy/confined-path.ts';
import type { ActiveSnapshot } from '../snapshot/snapshotter.ts';
import type { StepRunContext } from './execute-plan.ts';
import type { ParentChain } from './parent-chain.ts';
import { buildLayer, mountLayers, type LayerBuilderDeps } from './layer-builder.ts';
import type { ExecutorDeps, LayerRef } from './ports.ts';
import { OutputTail } from './output-tail.ts';
import { execFileAsync } from '../exec-file.ts';

export interface RunStepDeps extends LayerBuilderDeps {
  runtime: ContainerRuntime;
  deps: ExecutorDeps;
  file?: SourceFile;
}

/**
 * A RUN: a container over the parent's layers, its mounts prepared (context and stage binds,
 * cache dirs, tmpfs, secrets, ssh sockets, heredoc scripts), output streamed live, and the
 * upper dir turned into the step's layer. (The runtime removes the mount points it had to
 * create, so mounts leave no trace in the layer.)
 */
export async function runRunStep(d: RunStepDeps, step: Step, spec: RunSpec, parent: ParentChain, ctx: StepRunContext): Promise<LayerRef | undefined> {
  const scratch = await fs.mkdtemp(path.join(d.deps.stateDir, 'run-'));
  const views: ActiveSnapshot[] = [];
  const releases: Array<() => Promise<void>> = [];
  // What the container mounted is free once it exits: unmounting (and a locked cache mount's
  // release) overlaps the diff instead of following it.
  let freed: Promise<unknown> | undefined;
  const freeMounts = (): Promise<unknown> => (freed ??= Promise.allSettled([...views.map((v) => v.discard()), ...releases.map((r) => r())]));
  const wanted = spec.network === 'default' ? (d.deps.network ?? 'none') : spec.network;
  // The namespace is set up (the first time in a build) while the root is mounted.
  const netns = wanted === 'bridge' ? d.deps.bridge?.acquire() : undefined;
  netns?.catch(() => undefined);
  releases.push(async () => (await netns?.catch(() => undefined))?.release());
  try {
    return await buildLayer(d, parent, step.id, async (active) => {
      const user = resolveUser(active.rootfs, spec.user || 'root');
      const env = [...spec.env, ...spec.proxyEnv];
      const mounts: RunMount[] = [];
      let resolvConf: string | undefined;
      let n = 0;
      for (const m of spec.mounts) {
        const target = m.target ?? '';
        switch (m.type) {
          case 'bind': {
            const { host: source } = await mountSource(m.from, m.source || '/', m.readonly);
            mounts.push({ type: 'bind', source, target, readonly: m.readonly });
            break;
          }
          case 'cache': {
            const { dir, release } = await cacheMountDir(d.deps, m, m.from ? await cacheSeed(m.from, m.source ?? '/') : undefined);
            if (release) releases.push(release);
            mounts.push({ type: 'bind', source: dir, target, readonly: m.readonly });
            break;
          }
          case 'tmpfs':
            mounts.push({ type: 'tmpfs', target, sizeBytes: m.size });
            break;
          case 'secret': {
            const src = d.deps.secrets?.get(m.id);
            if (!src) {
              if (m.required) throw new BuildError({ code: 'TB_EXEC_SECRET_MISSING', message: `secret ${m.id} not found`, hint: `pass it with --secret id=${m.id},src=FILE` });
              break;
            }
            const value = src.file !== undefined ? await fs.readFile(src.file) : Buffer.from(src.value ?? '');
            if (m.env) env.push(`${m.env}=${value.toString('utf8')}`);
            if (m.target) {
              const f = path.join(scratch, `secret-${n++}`);
              await fs.writeFile(f, value, { mode: m.mode });
              await fs.chown(f, m.uid, m.gid);
              mounts.push({ type: 'bind', source: f, target: m.target, readonly: true });
            }
            break;
          }
          case 'ssh': {
            const sock = d.deps.ssh?.get(m.id);
            if (!sock) {
              if (m.required) throw new BuildError({ code: 'TB_EXEC_SSH_MISSING', message: `no SSH key ${m.id} forwarded`, hint: `pass --ssh ${m.id} (uses $SSH_AUTH_SOCK)` });
              break;
            }
            mounts.push({ type: 'bind', source: sock, target: m.target, readonly: false });
            env.push(`SSH_AUTH_SOCK=${m.target}`);
            break;
          }
        }
      }
      for (const f of spec.files) {
        const host = path.join(scratch, `file-${n++}`);
        await fs.writeFile(host, f.content, { mode: f.mode });
        mounts.push({ type: 'bind', source: host, target: f.path, readonly: true });
      }
      let network: RunRequest['network'] = wanted === 'bridge' ? 'none' : wanted;
      const lease = await netns;
      // host-gateway: the build host as the step reaches it (the bridge's gateway, or its own loopback otherwise).
      const hostGateway = lease?.gateway ?? '127.0.0.1';
      if (lease) {
        network = { netns: lease.path };
        resolvConf = lease.resolvConf;
      }
      const tail = new OutputTail(20);
      const result = await d.runtime.run(
        {
          rootfs: active.rootfs,
          args: spec.args,
          env,
          cwd: spec.workdir || '/',
          user,
          network,
          mounts,
          hostsFile: buildHostsFile((spec.extraHosts ?? []).map((h) => (h.ip === 'host-gateway' ? { host: h.host, ip: hostGateway } : h))),
          privileged: spec.security === 'insecure',
          ...(resolvConf !== undefined ? { resolvConf } : {}),
        },
        {
          onStdout: (b) => {
            tail.push(b);
            ctx.emit({ type: 'step-log', time: Date.now(), step: ctx.ref, stream: 'stdout', data: b.toString('utf8') });
          },
          onStderr: (b) => {
            tail.push(b);
            ctx.emit({ type: 'step-log', time: Date.now(), step: ctx.ref, stream: 'stderr', data: b.toString('utf8') });
          },
        },
        ctx.signal,
      );
      void freeMounts();
      if (result.exitCode !== 0) {
        const how = result.oomKilled ? 'out of memory' : result.signal ? `killed by ${result.signal}` : `exit code: ${result.exitCode}`;
        throw new BuildError({
          code: 'TB_EXEC_NONZERO_EXIT',
          message: `process "${spec.args.join(' ')}" did not complete successfully: ${how}`,
          location: d.file ? { file: d.file, range: step.location } : undefined,
          details: tail.lines().length ? ['last output:', ...tail.lines().map((l) => `  ${l}`)] : undefined,
          hint: 'the command failed inside the build container; its output is above',
        });
      }
    }, {}, { seal: ctx.seal, early: ctx.early });
  } finally {
    await freeMounts();
    await fs.rm(scratch, { recursive: true, force: true });
  }

  /** What names a cache mount's `from` (and `source`), and the dir a new cache starts as a copy of (mounted only then). */
  async function cacheSeed(from: SourceRef, source: string): Promise<CacheSeed> {
    const name = from.kind === 'context' ? (from.name === undefined ? 'context' : `context:${from.name}`) : from.kind === 'image' ? from.digest : (await ctx.layersOf({ stage: from.stage })).map((l) => l.diffId).join(',');
    const dir = async (): Promise<string> => {
      const { host, st } = await mountSource(from, source, true);
      if (!st.isDirectory()) {
        throw new BuildError({ code: 'TB_EXEC_MOUNT_SOURCE_NOT_FOUND', message: `cache mount source "${source}" is not a directory in ${placeOf(from, 'the stage or image it starts from')}` });
      }
      return host;
    };
    return { name: `${name}:${source}`, dir };
  }

  /**
   * A mount's `source` in its `from` (the context, or a view of a stage or image), resolved
   * inside it. A source missing there (e.g. a symlink to a host path, re-rooted) is the user's
   * error, as BuildKit's "not found", not a crash when the runtime stats it.
   */
  async function mountSource(from: SourceRef, source: string, readonly: boolean): Promise<{ host: string; st: Stats }> {
    const host = resolveIn(from.kind === 'context' ? contextOf(d.deps, from.name).root : await viewOf(from, readonly), source).hostPath;
    const st = await fs.lstat(host).catch(() => undefined);
    if (!st) {
      throw new BuildError({
        code: 'TB_EXEC_MOUNT_SOURCE_NOT_FOUND',
        message: `--mount source "${source}" not found in ${placeOf(from, 'the stage or image it is mounted from')}`,
        hint: 'symlinks in the source resolve inside that filesystem, never on the host',
      });
    }
    return { host, st };
  }

  async function viewOf(from: { kind: 'stage'; stage: number } | { kind: 'image'; ref: string; digest: string }, readonly: boolean): Promise<string> {
    const layers = from.kind === 'stage' ? await ctx.layersOf({ stage: from.stage }) : await d.deps.imageLayers(from.digest);
    const view = await mountLayers(d, layers, `${step.id}-mount-${views.length}`, { readonly });
    views.push(view);
    return view.rootfs;
  }
}

/** Where a mount reads from, for its errors: the build context, a named one, or `otherwise`. */
function placeOf(from: SourceRef, otherwise: string): string {
  if (from.kind !== 'context') return otherwise;
  return from.name === undefined ? 'the build context' : `build context "${from.name}"`;
}

interface CacheSeed {
  name: string;
  dir: () => Promise<string>;
}

/**
 * A persistent directory per cache mount; `locked` sharing serialises builds on it. A mount with
 * its own uid, gid or mode gets a cache of its own, as in BuildKit (which makes it a base dir
 * with them): one id shared across owners would hand one RUN a directory only the other can
 * write. Without them the id alone names it, as before.
 */
async function cacheMountDir(
  deps: ExecutorDeps,
  m: { id: string; sharing: 'shared' | 'private' | 'locked'; mode: number; uid: number; gid: number },
  seed?: CacheSeed,
): Promise<{ dir: string; release?: () => Promise<void> }> {
  let key = m.mode === 0o755 && m.uid === 0 && m.gid === 0 ? m.id : `${m.id}\0${m.uid}:${m.gid}:${m.mode.toString(8)}`;
  // `from`: a cache of its own per base, which starts as a copy of it (BuildKit keys it by the base too).
  if (seed) key += `\0from:${seed.name}`;
  const { dir, created } = await deps.store.cacheMount(key);
  if (created && seed) {
    try {
      await execFileAsync('cp', ['-a', '--', `${await seed.dir()}/.`, dir]);
    } catch (e) {
      // Not left half-seeded for the next build to take as the cache.
      await fs.rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  else if (created) {
    await fs.chmod(dir, m.mode);
    await fs.chown(dir, m.uid, m.gid);
  }
  // Lock names are plain file names; an id is any string (by default the target path).
  if (m.sharing === 'locked') return { dir, release: await deps.store.lock(`cache-mount-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`) };
  return { dir };
}
