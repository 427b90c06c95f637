import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { loadArchive } from './archive-load.ts';
import { saveArchive } from './archive-save.ts';
import { sha256 } from './digest.ts';
import { getImage, putImage, tagImage } from './image-store.ts';
import { OCI_LAYER_GZIP } from './media-types.ts';
import { openTestStore } from './testing/store.ts';
import type { ImageConfig } from './types.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function store() {
  const s = await openTestStore();
  cleanups.push(() => s.cleanup());
  return s;
}

function tmpFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-archive-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

const raw = Buffer.from('layer bytes '.repeat(100));
const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha256(raw)] } };

async function tarOf(files: { name: string; data?: Buffer; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const end = new Promise<void>((r) => pack.on('end', () => r()));
  for (const f of files) {
    if (f.linkname) pack.entry({ name: f.name, type: 'symlink', linkname: f.linkname });
    else pack.entry({ name: f.name }, f.data!);
  }
  pack.finalize();
  await end;
  return Buffer.concat(chunks);
}

describe('saveArchive / loadArchive', () => {
  it('round-trips an image through one tar that is both an OCI layout and a docker save archive', async () => {
    const a = await store();
    const layer = await a.writeBlob(gzipSync(raw));
    const put = await putImage(a, { config, layers: [{ mediaType: OCI_LAYER_GZIP, ...layer }] });
    await tagImage(a, put.manifestDigest, 'app:1');
    const file = tmpFile('out.tar');
    await saveArchive(a, ['app:1'], file);

    const names: Record<string, Buffer> = {};
    const ex = tar.extract();
    fs.createReadStream(file).pipe(ex);
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      names[e.header.name] = Buffer.concat(chunks);
    }
    expect(JSON.parse(names['oci-layout']!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(names['index.json']!.toString());
    expect(index.manifests[0]).toMatchObject({ digest: put.manifestDigest, annotations: { 'io.containerd.image.name': 'docker.io/library/app:1' } });
    const dm = JSON.parse(names['manifest.json']!.toString());
    expect(dm).toEqual([{ Config: `blobs/sha256/${put.configDigest.slice(7)}`, RepoTags: ['app:1'], Layers: [`blobs/sha256/${layer.digest.slice(7)}`] }]);
    for (const [n, data] of Object.entries(names)) if (n.startsWith('blobs/sha256/') && data.length) expect(sha256(data)).toBe(`sha256:${n.slice(13)}`);

    const b = await store();
    const loaded = await loadArchive(b, fs.createReadStream(file));
    expect(loaded).toEqual([{ digest: put.manifestDigest, configDigest: put.configDigest, tags: ['docker.io/library/app:1'] }]);
    expect((await getImage(b, 'app:1')).config).toEqual(config);
  });

  it('loads an old docker save archive (<id>/layer.tar, symlinked duplicate, gzipped input) keeping the image ID', async () => {
    const cfgBytes = Buffer.from(JSON.stringify(config, null, 2));
    const id = sha256(cfgBytes).slice(7);
    const archive = await tarOf([
      { name: 'aaaa/VERSION', data: Buffer.from('1.0') },
      { name: 'aaaa/layer.tar', data: raw },
      { name: 'bbbb/layer.tar', linkname: '../aaaa/layer.tar' },
      { name: `${id}.json`, data: cfgBytes },
      { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: `${id}.json`, RepoTags: ['old:v1'], Layers: ['bbbb/layer.tar'] }])) },
      { name: 'repositories', data: Buffer.from('{"old":{"v1":"aaaa"}}') },
    ]);
    const s = await store();
    const [img] = await loadArchive(s, fs.createReadStream(writeTmp(gzipSync(archive))));
    expect(img!.configDigest).toBe(`sha256:${id}`);
    expect(img!.tags).toEqual(['docker.io/library/old:v1']);
    const got = await getImage(s, 'old:v1');
    expect(got.manifest.layers[0]!.digest).toBe(sha256(raw));
  });

  it('rejects a blob whose content does not match its name, and a layer that does not match its diff_id', async () => {
    const fake = 'sha256:' + 'b'.repeat(64);
    const tampered = await tarOf([
      { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: `blobs/sha256/${fake.slice(7)}`, data: Buffer.from('not it') },
      { name: 'index.json', data: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: fake, size: 6 }] })) },
    ]);
    await expect(loadArchive(await store(), writeTmp(tampered))).rejects.toMatchObject({ code: 'TB_REGISTRY_BAD_ARCHIVE', message: expect.stringMatching(/has content with digest/) });

    const cfgBytes = Buffer.from(JSON.stringify(config));
    const wrongLayer = await tarOf([
      { name: 'c.json', data: cfgBytes },
      { name: 'l/layer.tar', data: Buffer.from('something else') },
      { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['l/layer.tar'] }])) },
    ]);
    const s = await store();
    await expect(loadArchive(s, writeTmp(wrongLayer))).rejects.toThrow(/does not match diff_id/);
    expect(await s.getRef('image:docker.io/library/x:1')).toBeUndefined();
  });
});

function writeTmp(data: Buffer): string {
  const f = tmpFile('in.tar');
  fs.writeFileSync(f, data);
  return f;
}
