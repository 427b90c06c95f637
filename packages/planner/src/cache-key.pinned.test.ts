import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf } from './canonical.ts';
import { KEY_VERSION, copyOp, imageRootKey, runOp, scratchRootKey, stepKey } from './cache-key.ts';
import type { CopySpec, RunSpec } from './types.ts';

// These literals pin the key encoding. If one fails, the encoding changed: that is only
// allowed together with a KEY_VERSION bump (and updating these values and docs/cache-key.md),
// otherwise old cache entries would be served for inputs they were never built from.

const RUN: RunSpec = {
  kind: 'run',
  args: ['/bin/sh', '-c', 'echo hi'],
  form: 'shell',
  env: ['PATH=/bin', 'HTTP_PROXY=http://p', 'A=1'],
  proxyEnv: ['https_proxy=http://q'],
  user: '',
  workdir: '/',
  network: 'default',
  security: 'sandbox',
  mounts: [{ type: 'cache', target: '/c', id: 'x', sharing: 'locked', readonly: false, mode: 0o755, uid: 0, gid: 0 }],
  files: [],
};

const COPY: CopySpec = {
  kind: 'copy',
  sources: ['app'],
  urls: [],
  inline: [],
  dest: '/app/',
  from: { kind: 'context' },
  link: false,
  parents: false,
  excludes: [],
  context: { sources: ['app'], excludes: [], parents: false },
};

describe('pinned cache key encoding', () => {
  it('is version tbuild-key-v1', () => {
    expect(KEY_VERSION).toBe('tbuild-key-v1');
  });

  it('canonical JSON: sorted keys by code unit, undefined dropped, arrays kept', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], B: undefined, 'é': 'e', Z: { y: 2, x: 'q"' } })).toBe(
      '{"Z":{"x":"q\\"","y":2},"a":[true,null,"x"],"b":1,"é":"e"}',
    );
    expect(() => canonicalJson({ a: 1.5 })).toThrow();
    expect(() => canonicalJson({ a: new Date(0) })).toThrow();
  });

  it('root, RUN and COPY keys', () => {
    const d = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
    const parent = scratchRootKey({ os: 'linux', architecture: 'amd64' });
    const run = stepKey('run', parent, runOp(RUN, [undefined]));
    const ctxDigest = 'sha256:2222222222222222222222222222222222222222222222222222222222222222';
    const copy = stepKey('copy', run.cacheKey, copyOp(COPY, { kind: 'context', digest: ctxDigest }));
    expect({
      imageRoot: imageRootKey(d, { os: 'linux', architecture: 'amd64' }),
      scratchRoot: scratchRootKey({ os: 'linux', architecture: 'arm64', variant: 'v8' }),
      run: run.cacheKey,
      copy: copy.cacheKey,
    }).toEqual(PINNED);
    expect(run.cacheKey).toBe(digestOf(run.keyInputs));
    // The proxy env and the cache id/sharing are not part of it.
    expect(JSON.stringify(run.keyInputs)).not.toMatch(/proxy|locked|"id"/i);
  });
});

// imageRoot is, by hand: printf '%s' '{"digest":"sha256:1111…1111","kind":"image","platform":"linux/amd64","v":"tbuild-key-v1"}' | sha256sum
const PINNED = {
  imageRoot: 'sha256:3cc809664a37ed96c96d4c790b54a5645846a3df7df11d95537363842349ac21',
  scratchRoot: 'sha256:42495e194152396853121840b4034816dba0f31676918fccb3a76bf37d499092',
  run: 'sha256:ec78d7fc4cfdc9ac7646c106711a841711f61aa825bc4fa7d72d29be4998ed5a',
  copy: 'sha256:7843c65ae3ec5a3a476d1ecbdfd9d96368585c0d3d9d432209dbd6ac7d349bdb',
};
