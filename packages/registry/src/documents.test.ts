import { describe, expect, it } from 'vitest';
import { parseChallenges } from './auth.ts';
import { parseDocument } from './documents.ts';
import { OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import { selectManifest } from './platform.ts';
import type { Descriptor } from './types.ts';

const d = (c: string): string => 'sha256:' + c.repeat(64);
const desc = (c: string, platform?: Descriptor['platform'], annotations?: Record<string, string>): Descriptor => ({
  mediaType: OCI_MANIFEST,
  digest: d(c),
  size: 10,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});
const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc('c'), layers: [desc('1')] };

describe('parseDocument', () => {
  it('accepts a manifest and an index', () => {
    expect(parseDocument(Buffer.from(JSON.stringify(manifest)), 'm', OCI_MANIFEST).kind).toBe('manifest');
    expect(parseDocument(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })), 'i').kind).toBe('index');
  });

  it('rejects a document that is both an index and a manifest (CVE-2021-41190)', () => {
    const both = { ...manifest, manifests: [desc('2')] };
    expect(() => parseDocument(Buffer.from(JSON.stringify(both)), 'x')).toThrow(/both "manifests" and "layers"/);
  });

  it('rejects a mediaType that disagrees with Content-Type', () => {
    expect(() => parseDocument(Buffer.from(JSON.stringify(manifest)), 'x', `${OCI_INDEX}; charset=utf-8`)).toThrow(/does not match Content-Type/);
  });

  it('rejects documents over 4 MiB and bad digests', () => {
    expect(() => parseDocument(Buffer.alloc(4 * 1024 * 1024 + 1, 32), 'x')).toThrow(expect.objectContaining({ code: 'TB_REGISTRY_TOO_LARGE' }));
    const badDigest = { ...manifest, layers: [{ mediaType: 'x', digest: 'sha256:../../etc', size: 1 }] };
    expect(() => parseDocument(Buffer.from(JSON.stringify(badDigest)), 'x')).toThrow(/invalid digest/);
  });
});

describe('selectManifest', () => {
  it('skips attestations, takes the first match and falls back along arm variants', () => {
    const list = [
      desc('0', { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
      desc('1', { os: 'linux', architecture: 'amd64' }),
      desc('2', { os: 'linux', architecture: 'amd64' }),
      desc('3', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      desc('4', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    ];
    expect(selectManifest(list, { os: 'linux', architecture: 'x86_64' })?.digest).toBe(d('1'));
    expect(selectManifest(list, { os: 'linux', architecture: 'aarch64' })?.digest).toBe(d('3'));
    expect(selectManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest).toBe(d('4'));
    expect(selectManifest(list, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });
});

describe('parseChallenges', () => {
  it('parses Bearer and Basic challenges with quoted values', () => {
    const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push", Basic realm="x"';
    expect(parseChallenges(h)).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });
});
