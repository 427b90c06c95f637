import { BuildError } from '@tbuild/errors';
import { parseRef } from '../reference.ts';

/** How much of a build `--cache-to` exports: the final image's steps (`min`) or every stage's (`max`). */
export type CacheMode = 'min' | 'max';

/**
 * A parsed `--cache-to` value (buildx syntax). `registry` pushes a cache index to `ref` (an
 * image manifest instead with `imageManifest`, for registries that refuse indexes of blobs),
 * `local` writes an OCI layout under `dest` (tagged `tag`), `inline` embeds the records in the
 * image's own config (always min mode). `ignoreError` turns a failed export into a warning.
 */
export type CacheExportSpec =
  | { type: 'registry'; ref: string; mode: CacheMode; imageManifest?: boolean; ignoreError?: boolean }
  | { type: 'local'; dest: string; tag: string; mode: CacheMode; ignoreError?: boolean }
  | { type: 'inline' };

/** A parsed `--cache-from` value: a cache index or an image with inline cache at `ref`, or an OCI layout at `src`. */
export type CacheImportSpec = { type: 'registry'; ref: string } | { type: 'local'; src: string; tag: string };

function usage(message: string, hint: string): BuildError {
  return new BuildError({ code: 'TB_CLI_USAGE', message, hint });
}

function fields(value: string, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(`invalid ${flag} "${value}": "${part}" is not KEY=VALUE`, `e.g. ${flag} type=registry,ref=registry.local:5000/app:cache`);
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

function checkRef(ref: string | undefined, flag: string): string {
  if (!ref) throw usage(`${flag} type=registry needs ref=REGISTRY/REPO:TAG`, `e.g. ${flag} type=registry,ref=registry.local:5000/app:cache`);
  // parseRef throws TB_REGISTRY_INVALID_REF with the reason.
  if (flag === '--cache-to' && parseRef(ref).digest) {
    throw usage(`${flag} ${ref}: a cache is published under a tag, not a digest`, `e.g. ${flag} type=registry,ref=${ref.slice(0, ref.indexOf('@'))}:cache`);
  }
  parseRef(ref);
  return ref;
}

function checkKeys(f: Map<string, string>, allowed: string[], flag: string, type: string): void {
  for (const k of f.keys()) {
    if (!allowed.includes(k)) throw usage(`${flag} type=${type} does not take "${k}"`, `accepted: ${allowed.join(', ')}`);
  }
}

function bool(f: Map<string, string>, key: string): boolean | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw usage(`invalid ${key}=${v}`, `${key}=true or ${key}=false`);
  return v === 'true';
}

/** Optional boolean fields, present only when set (so specs compare equal to their defaults). */
function flags(f: Map<string, string>, names: Record<string, string>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [key, prop] of Object.entries(names)) {
    const v = bool(f, key);
    if (v !== undefined) out[prop] = v;
  }
  return out;
}

function mode(f: Map<string, string>): CacheMode {
  const m = f.get('mode') ?? 'min';
  if (m !== 'min' && m !== 'max') throw usage(`invalid cache mode "${m}"`, 'mode=min (the final image\'s steps) or mode=max (every stage\'s)');
  return m;
}

/** Parses a `--cache-to` value; a bare reference means `type=registry,ref=<it>`. */
export function parseCacheExport(value: string): CacheExportSpec {
  const flag = '--cache-to';
  if (!value.includes('=')) return { type: 'registry', ref: checkRef(value, flag), mode: 'min' };
  const f = fields(value, flag);
  const type = f.get('type') ?? 'registry';
  switch (type) {
    case 'registry':
      checkKeys(f, ['type', 'ref', 'mode', 'image-manifest', 'ignore-error'], flag, type);
      return { type, ref: checkRef(f.get('ref'), flag), mode: mode(f), ...flags(f, { 'image-manifest': 'imageManifest', 'ignore-error': 'ignoreError' }) };
    case 'local': {
      checkKeys(f, ['type', 'dest', 'mode', 'tag', 'ignore-error'], flag, type);
      const dest = f.get('dest');
      if (!dest) throw usage(`${flag} type=local needs dest=DIR`, `e.g. ${flag} type=local,dest=/mnt/shared/cache`);
      return { type, dest, tag: f.get('tag') ?? 'latest', mode: mode(f), ...flags(f, { 'ignore-error': 'ignoreError' }) };
    }
    case 'inline':
      checkKeys(f, ['type', 'mode'], flag, type);
      if (f.get('mode') === 'max') throw usage(`${flag} type=inline supports only mode=min`, 'inline cache lives in the image, which holds only the final stage; use type=registry for mode=max');
      return { type };
    default:
      throw usage(`unsupported ${flag} type "${type}"`, 'one of: registry, local, inline');
  }
}

/** Parses a `--cache-from` value; a bare reference means `type=registry,ref=<it>`. */
export function parseCacheImport(value: string): CacheImportSpec {
  const flag = '--cache-from';
  if (!value.includes('=')) return { type: 'registry', ref: checkRef(value, flag) };
  const f = fields(value, flag);
  const type = f.get('type') ?? 'registry';
  switch (type) {
    case 'registry':
      checkKeys(f, ['type', 'ref'], flag, type);
      return { type, ref: checkRef(f.get('ref'), flag) };
    case 'local': {
      checkKeys(f, ['type', 'src', 'tag'], flag, type);
      const src = f.get('src');
      if (!src) throw usage(`${flag} type=local needs src=DIR`, `e.g. ${flag} type=local,src=/mnt/shared/cache`);
      return { type, src, tag: f.get('tag') ?? 'latest' };
    }
    default:
      throw usage(`unsupported ${flag} type "${type}"`, 'one of: registry, local (an image pushed with inline cache is type=registry)');
  }
}

/** How a cache location is named in messages and `cache ls`. */
export function describeCacheSource(s: CacheImportSpec | CacheExportSpec): string {
  if (s.type === 'registry') return s.ref;
  if (s.type === 'local') return `${'src' in s ? s.src : s.dest} (tag ${s.tag})`;
  return 'inline';
}
