import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { BuildError } from '@tbuild/errors';
import { extractTar, type Store } from '@tbuild/cache';
import { saveArchive, type RegistryClient } from '@tbuild/registry';
import { execFileAsync, type BuildEvent } from '@tbuild/executor';

/** Where a built image goes besides the store (`--output`, buildx's syntax). */
export type OutputSpec =
  | { type: 'image' }
  | { type: 'docker'; dest: string }
  | { type: 'oci'; dest: string }
  | { type: 'local'; dest: string }
  /** The image's filesystem as one tar file (buildx's `type=tar`). */
  | { type: 'tar'; dest: string }
  | { type: 'registry' };

const TYPES = ['image', 'docker', 'oci', 'local', 'tar', 'registry'];
const FILE_TYPES = ['docker', 'oci', 'local', 'tar'];

/** Parses `--output` values: `type=docker,dest=out.tar`, or a bare path meaning `type=local,dest=PATH`. */
export function parseOutputs(values: Array<string | OutputSpec>, opts: { push: boolean }): OutputSpec[] {
  const out: OutputSpec[] = [];
  for (const v of values) {
    if (typeof v !== 'string') {
      out.push(v);
      continue;
    }
    if (!v.includes('=')) {
      out.push({ type: 'local', dest: v });
      continue;
    }
    const fields = new Map<string, string>();
    for (const part of v.split(',')) {
      const eq = part.indexOf('=');
      fields.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? 'true' : part.slice(eq + 1));
    }
    const type = fields.get('type') ?? 'local';
    const dest = fields.get('dest');
    if (!TYPES.includes(type)) {
      throw new BuildError({ code: 'TB_CLI_USAGE', message: `unsupported output type "${type}"`, hint: `one of: ${TYPES.join(', ')}` });
    }
    if (FILE_TYPES.includes(type) && !dest) {
      throw new BuildError({ code: 'TB_CLI_USAGE', message: `output type=${type} needs dest=PATH`, hint: `e.g. --output type=${type},dest=${type === 'local' ? 'out/' : type === 'tar' ? 'rootfs.tar' : 'image.tar'}` });
    }
    if (type === 'image' && fields.get('push') === 'true') out.push({ type: 'registry' });
    else out.push(FILE_TYPES.includes(type) ? ({ type, dest: dest! } as OutputSpec) : ({ type } as OutputSpec));
  }
  if (opts.push && !out.some((o) => o.type === 'registry')) out.push({ type: 'registry' });
  return out;
}

export async function exportOutputs(
  outputs: OutputSpec[],
  ctx: {
    store: Store;
    client: RegistryClient;
    manifestDigest: string;
    tags: string[];
    layers: Array<{ digest: string; mediaType: string }>;
    emit: (e: BuildEvent) => void;
    /** This build's scratch dir (the reaper removes it if the build is killed): `type=tar` assembles the filesystem there. */
    scratch: string;
  },
): Promise<void> {
  for (const o of outputs) {
    if (o.type === 'image') continue;
    const what = o.type === 'registry' ? `push ${ctx.tags.join(', ')}` : `${o.type} to ${o.dest}`;
    ctx.emit({ type: 'export', time: Date.now(), status: 'start', what });
    switch (o.type) {
      case 'docker':
      case 'oci':
        // One archive serves both: docker's manifest.json and an OCI layout side by side (as Docker 25+ writes).
        await saveArchive(ctx.store, ctx.tags.length ? ctx.tags : [ctx.manifestDigest], o.dest);
        break;
      case 'local':
        await applyLayers(ctx, o.dest);
        break;
      case 'tar': {
        const dir = await fs.promises.mkdtemp(path.join(ctx.scratch, 'export-tar-'));
        try {
          await applyLayers(ctx, dir);
          await writeTar(dir, o.dest);
        } finally {
          await fs.promises.rm(dir, { recursive: true, force: true });
        }
        break;
      }
      case 'registry':
        if (!ctx.tags.length) throw new BuildError({ code: 'TB_CLI_USAGE', message: 'pushing needs a name', hint: 'add -t REGISTRY/REPO:TAG' });
        for (const t of ctx.tags) await ctx.client.push(ctx.store, t, t);
        break;
    }
    ctx.emit({ type: 'export', time: Date.now(), status: 'done', what });
  }
}

/** The image's filesystem in `dir`: its layers applied in order, whiteouts honoured. */
async function applyLayers(ctx: { store: Store; layers: Array<{ digest: string; mediaType: string }> }, dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  for (const l of ctx.layers) {
    const raw = fs.createReadStream(ctx.store.blobPath(l.digest));
    await extractTar(l.mediaType.includes('gzip') ? raw.pipe(zlib.createGunzip()) : raw, dir, { format: 'plain' });
  }
}

/**
 * `dir` as one POSIX tar by Debian's GNU tar: names sorted, numeric owners, xattrs kept. It is
 * written beside `dest` and renamed over it, so a failed export leaves no half-written file.
 */
async function writeTar(dir: string, dest: string): Promise<void> {
  const tmp = `${dest}.tbuild-${process.pid}`;
  try {
    await execFileAsync('tar', ['--format=pax', '--sort=name', '--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', dir, '-cf', tmp, '.']);
    await fs.promises.rename(tmp, dest);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    const err = e as { code?: string; stderr?: string };
    throw new BuildError({ code: 'TB_EXPORT_TAR', message: `cannot write ${dest}: ${err.code === 'ENOENT' ? 'tar is not installed' : (err.stderr ?? String(e)).trim()}` });
  }
}
