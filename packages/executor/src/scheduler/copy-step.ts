import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError, type SourceFile } from '@tbuild/errors';
import type { CopySpec, Step } from '@tbuild/planner';
import { parseChmod } from '../copy/chmod.ts';
import { resolveCopyOwner } from '../copy/chown.ts';
import { isDirectoryIn } from '../copy/confined-path.ts';
import { copyFiles, type CopyReuse, type CopySource } from '../copy/copy-files.ts';
import { donorName, openDonor } from './copy-donor.ts';
import type { MemberIndex } from '../layer/index.ts';
import type { ActiveSnapshot } from '../snapshot/snapshotter.ts';
import type { StepRunContext } from './execute-plan.ts';
import { finalChain, type ParentChain } from './parent-chain.ts';
import { buildLayer, mountLayers, type GzipReuse, type LayerBuilderDeps } from './layer-builder.ts';
import type { ExecutorDeps, FileSelector, LayerRef, SelectedFileLike } from './ports.ts';
import { fetchUrlSource } from './add-url.ts';
import { contextOf } from './named-contexts.ts';
import { extractArchiveInto, isArchive } from './add-archive.ts';

export interface CopyStepDeps extends LayerBuilderDeps {
  deps: ExecutorDeps;
  file?: SourceFile;
}

const WILDCARD = /[*?[]/;

/**
 * COPY and ADD write files straight into the new layer, no container: sources come from the
 * context (the same selection that was hashed for the key), another stage, an image, heredocs
 * or, for ADD, URLs and local archives (extracted with the store's safe extractor).
 */
export async function runCopyStep(d: CopyStepDeps, step: Step, spec: CopySpec, parent: ParentChain, ctx: StepRunContext): Promise<LayerRef | undefined> {
  const scratch = await fs.mkdtemp(path.join(d.deps.stateDir, 'copy-'));
  let view: ActiveSnapshot | undefined;
  let viewGone: Promise<void> | undefined;
  let parentViewHandle: ActiveSnapshot | undefined;
  // With --link the new layer starts empty, but --chown names still resolve in the stage's files.
  const parentView = async (): Promise<string> => {
    parentViewHandle ??= await mountLayers(d, await parent.layers, `${step.id}-chown`, { readonly: true });
    return parentViewHandle.rootfs;
  };
  const at = d.file ? { file: d.file, range: step.location } : undefined;
  const donor = donorName(step);
  let recordDonor: ((layer: { diffId: string; digest: string }, members?: MemberIndex) => Promise<void>) | undefined;
  const gz: GzipReuse = {};
  let discardDonor: (() => Promise<void>) | undefined;
  try {
    // --link copies onto an empty root: the layer does not depend on what is below it.
    const lowers = spec.link ? finalChain([]) : parent;
    const layer = await buildLayer(d, lowers, step.id, async (active) => {
      const owner = spec.chown ? resolveCopyOwner(spec.link ? await parentView() : active.rootfs, spec.chown) : { uid: 0, gid: 0 };
      // BuildKit keeps a stage's or an image's owners when there is no --chown; context files arrive as 0:0.
      const keepOwners = !spec.chown && spec.from.kind !== 'context';
      let matched = 0;
      let sourceIsDir = false;
      const chmod = spec.chmod ? parseChmod(spec.chmod) : undefined;
      const files: CopySource[] = [];
      let selected: SelectedFileLike[] = [];
      let keepSourceAttrs = false;
      let selector: FileSelector;
      let root: string;
      const local = spec.sources.filter((s) => !spec.urls.includes(s) && !spec.inline.some((f) => `<<${f.path}` === s));
      if (local.length) {
        if (spec.from.kind === 'context') {
          const context = contextOf(d.deps, spec.from.name);
          selector = context;
          root = context.root;
        } else {
          const layers = spec.from.kind === 'stage' ? await ctx.layersOf({ stage: spec.from.stage }) : await d.deps.imageLayers(spec.from.digest);
          view = await mountLayers(d, layers, `${step.id}-from`, { readonly: true });
          selector = await d.deps.openRoot(view.rootfs);
          root = view.rootfs;
          keepSourceAttrs = !spec.chown && !spec.chmod && spec.kind === 'copy';
        }
        // From the context, select with exactly the selection that was hashed into the key.
        const sel = spec.from.kind === 'context' && spec.context ? spec.context : { sources: local, excludes: spec.excludes, parents: spec.parents };
        selected = await selector.select(sel).catch((e: unknown) => {
          throw located(e, at);
        });
        matched = selected.length;
        if (local.length === 1 && !spec.parents && !WILDCARD.test(local[0]!)) sourceIsDir = await isDirectoryIn(root, '/' + local[0]!);
        for (const f of selected) {
          // BuildKit unpacks an archive ADD names, never one inside a directory it copies.
          if (spec.kind === 'add' && spec.unpack !== false && f.type === 'file' && f.direct && (await isArchive(f.absPath))) {
            await extractArchiveInto(f.absPath, f.relPath, active.rootfs, spec.dest, owner).catch((e: unknown) => {
              throw located(e, at);
            });
            continue;
          }
          files.push(f);
        }
      }
      for (const f of spec.inline) {
        const host = path.join(scratch, `inline-${files.length}`);
        await fs.writeFile(host, f.content, { mode: f.mode });
        files.push({ absPath: host, destRel: f.path, type: 'file', mode: f.mode });
      }
      for (const url of spec.urls) {
        const got = await fetchUrlSource(url, scratch, { checksum: spec.checksum, signal: ctx.signal });
        files.push({ absPath: got.path, destRel: got.name, type: 'file', mode: 0o600 });
      }
      // Wildcards that matched nothing copy nothing, not even the destination directory
      // (BuildKit); an empty directory named literally still creates it.
      if (!files.length && (!local.length || (matched === 0 && local.every((s) => WILDCARD.test(s))))) return;
      // A wildcard with a single match writes that file as dest, like BuildKit; several named
      // sources need a directory (the planner already rejects them without a trailing `/`).
      const destMustBeDir = spec.sources.length > 1;
      let reuse: CopyReuse | undefined;
      if (donor && spec.context && d.deps.context.fileDigests && spec.kind === 'copy' && spec.from.kind === 'context' && !spec.from.name) {
        const byRel = await d.deps.context.fileDigests(spec.context);
        const digests = new Map<string, string>();
        for (const f of selected) {
          const dg = byRel.get(f.relPath);
          if (f.type === 'file' && dg !== undefined) digests.set(f.absPath, dg);
        }
        const opened = await openDonor(d.deps.store, donor, active.upper, digests);
        reuse = opened?.reuse;
        recordDonor = opened?.save;
        discardDonor = opened?.discard;
        gz.reuse = opened?.members;
        gz.trusted = opened?.trusted;
        gz.keepIndex = recordDonor !== undefined;
      }
      try {
        await copyFiles({ rootfs: active.rootfs, dest: spec.dest, files, destMustBeDir, sourceIsDir, ...(keepOwners ? {} : owner), chmod, keepSourceAttrs, ...(reuse ? { reuse } : {}) });
      } catch (e) {
        throw located(e, at);
      }
      // Only the copy reads the source view: unmounting it overlaps the diff (~15-25 ms here).
      viewGone = view?.discard();
      viewGone?.catch(() => undefined);
    }, gz, { seal: ctx.seal, early: ctx.early });
    // An unsealed result is a donor too: the next run takes its files, and its record becomes a
    // miss (store/unsealed.ts). An edit loop on a stage the image does not contain keeps moving
    // the unchanged files instead of copying them all.
    if (layer && recordDonor) await recordDonor(layer, gz.index).catch(() => undefined);
    return layer;
  } finally {
    await discardDonor?.().catch(() => undefined);
    await (viewGone ?? view?.discard())?.catch(() => undefined);
    await parentViewHandle?.discard().catch(() => undefined);
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** A user's error from selecting or copying, pointed at the COPY/ADD line when it has no place yet. */
function located(e: unknown, at: BuildError['location']): unknown {
  return e instanceof BuildError && at && !e.location ? new BuildError({ ...e.diagnostics[0]!, location: at }, { cause: e }) : e;
}
