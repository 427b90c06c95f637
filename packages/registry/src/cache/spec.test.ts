import { describe, expect, it } from 'vitest';
import { isBuildError } from '@tbuild/errors';
import { parseCacheExport, parseCacheImport } from './spec.ts';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isBuildError(e) ? e.code : `not a BuildError: ${String(e)}`;
  }
  return undefined;
}

describe('--cache-to / --cache-from values', () => {
  it('parses registry, local and inline exports with min as the default mode', () => {
    expect(parseCacheExport('type=registry,ref=reg:5000/app:cache,mode=max')).toEqual({ type: 'registry', ref: 'reg:5000/app:cache', mode: 'max' });
    expect(parseCacheExport('reg:5000/app:cache')).toEqual({ type: 'registry', ref: 'reg:5000/app:cache', mode: 'min' });
    expect(parseCacheExport('type=local,dest=/mnt/cache')).toEqual({ type: 'local', dest: '/mnt/cache', tag: 'latest', mode: 'min' });
    expect(parseCacheExport('type=inline')).toEqual({ type: 'inline' });
    expect(parseCacheExport('type=registry,ref=reg:5000/app:c,image-manifest=true,ignore-error=true')).toEqual({
      type: 'registry',
      ref: 'reg:5000/app:c',
      mode: 'min',
      imageManifest: true,
      ignoreError: true,
    });
  });

  it('parses registry and local imports', () => {
    expect(parseCacheImport('type=registry,ref=reg:5000/app:cache')).toEqual({ type: 'registry', ref: 'reg:5000/app:cache' });
    expect(parseCacheImport('reg:5000/app:cache')).toEqual({ type: 'registry', ref: 'reg:5000/app:cache' });
    expect(parseCacheImport('type=local,src=/mnt/cache,tag=ci')).toEqual({ type: 'local', src: '/mnt/cache', tag: 'ci' });
  });

  it('refuses what it cannot honour, as usage errors', () => {
    expect(code(() => parseCacheExport('type=registry,mode=max'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=registry,ref=reg:5000/app:c,mode=all'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=inline,mode=max'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=gha'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=local'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=registry,ref=reg:5000/app:c,compression=zstd'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=registry,ref=reg:5000/app:c,ignore-error=yes'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheExport('type=local,dest=/x,image-manifest=true'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheImport('type=inline'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheImport('type=local,dest=/x'))).toBe('TB_CLI_USAGE');
    expect(code(() => parseCacheImport('type=registry,ref=UPPER/Case'))).toBe('TB_REGISTRY_INVALID_REF');
  });

  it('refuses to export a cache under a digest (a cache index is published by tag)', () => {
    expect(code(() => parseCacheExport(`reg:5000/app@sha256:${'a'.repeat(64)}`))).toBe('TB_CLI_USAGE');
  });
});
