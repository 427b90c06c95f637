import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/root.ts';
import { diffConfigs, diffHistory, diffTrees, historyView } from './compare.ts';
import { readSavedImage } from './image-tree.ts';

/**
 * The differential harness must itself be able to fail: these build small docker-save
 * archives by hand and check that layer application and the comparisons see what they must.
 */

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; content?: string; mode?: number; uid?: number; gid?: number; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((r) => pack.on('end', r));
  for (const e of entries) {
    const h = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0, linkname: e.linkname };
    await new Promise<void>((res, rej) => pack.entry(h, e.content ?? '', (err) => (err ? rej(err) : res())));
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

const work = tempDir('tbuild-diff-unit-');
afterAll(() => work.cleanup());
let n = 0;

async function saved(layers: Entry[][], config: object = {}): Promise<string> {
  const files: Entry[] = [{ name: 'config.json', content: JSON.stringify(config) }];
  const names: string[] = [];
  for (const [i, l] of layers.entries()) {
    names.push(`l${i}.tar`);
    const raw = await tarOf(l);
    files.push({ name: `l${i}.tar`, content: (i % 2 ? zlib.gzipSync(raw) : raw).toString('latin1') });
  }
  files.push({ name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', Layers: names }]) });
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((r) => pack.on('end', r));
  for (const f of files) await new Promise<void>((res, rej) => pack.entry({ name: f.name }, Buffer.from(f.content!, 'latin1'), (err) => (err ? rej(err) : res())));
  pack.finalize();
  await ended;
  const p = path.join(work.dir, `${++n}.tar`);
  fs.writeFileSync(p, Buffer.concat(chunks));
  return p;
}

describe('differential harness', () => {
  it('applies whiteouts, opaque markers and replacements across layers', async () => {
    const img = await readSavedImage(
      await saved([
        [{ name: 'a/', type: 'directory' }, { name: 'a/x', content: 'x' }, { name: 'b/', type: 'directory' }, { name: 'b/old', content: 'o' }, { name: 'c', content: 'file' }],
        [{ name: 'a/.wh.x' }, { name: 'b/.wh..wh..opq' }, { name: 'b/new', content: 'n' }, { name: 'c/', type: 'directory', mode: 0o700 }, { name: 'h', type: 'link', linkname: 'b/new' }],
      ]),
    );
    expect([...img.tree.keys()].sort()).toEqual(['/a', '/b', '/b/new', '/c', '/h']);
    expect(img.tree.get('/c')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(img.tree.get('/h')).toMatchObject({ type: 'file', linkGroup: '/b/new' });
    expect(img.layerEntries.map((l) => l.length)).toEqual([5, 5]);
  });

  it('reports content, mode, owner, type and link target differences, and ignores runtime files', async () => {
    const base: Entry[] = [{ name: 'f', content: 'same' }, { name: 'l', type: 'symlink', linkname: 't' }, { name: 'etc/hosts', content: '1' }];
    const a = await readSavedImage(await saved([base]));
    expect(diffTrees(a.tree, (await readSavedImage(await saved([base]))).tree)).toEqual([]);
    for (const change of [
      { name: 'f', content: 'diff' },
      { name: 'f', content: 'same', mode: 0o600 },
      { name: 'f', content: 'same', uid: 1 },
      { name: 'f', type: 'directory' as const },
      { name: 'l', type: 'symlink' as const, linkname: 'u' },
    ]) {
      const b = await readSavedImage(await saved([base, [change]]));
      expect(diffTrees(a.tree, b.tree)).toHaveLength(1);
    }
    const hosts = await readSavedImage(await saved([base, [{ name: 'etc/hosts', content: '2' }]]));
    expect(diffTrees(a.tree, hosts.tree)).toEqual([]);
  });

  it('skips a mount stub only in its exact shape', async () => {
    const a = await readSavedImage(await saved([[{ name: 'f' }]]));
    const stub = await readSavedImage(await saved([[{ name: 'f' }, { name: 'm/', type: 'directory', mode: 0o755 }]]));
    expect(diffTrees(a.tree, stub.tree, { stubs: ['/m'] })).toEqual([]);
    const full = await readSavedImage(await saved([[{ name: 'f' }, { name: 'm/', type: 'directory', mode: 0o755 }, { name: 'm/x' }]]));
    expect(diffTrees(a.tree, full.tree, { stubs: ['/m'] })).toHaveLength(2);
  });

  it('compares configs regardless of key order and history after normalising 20.10 wording', async () => {
    expect(diffConfigs({ config: { Healthcheck: { Test: ['CMD'], Retries: 1 } } }, { config: { Healthcheck: { Retries: 1, Test: ['CMD'] } } })).toEqual([]);
    expect(diffConfigs({ config: { Env: ['A=1'] } }, { config: { Env: ['A=2'] } })).toHaveLength(1);
    const img = (history: object[]) => ({ config: { history }, tree: new Map(), layerEntries: [['x'], []] });
    const tb = img([{ created_by: 'COPY --chown=1:1 a /a # buildkit' }, { created_by: 'RUN true # buildkit', empty_layer: true }]);
    const bk = img([{ created_by: 'COPY a /a # buildkit' }, { created_by: 'RUN true # buildkit' }]);
    expect(diffHistory(historyView(tb), historyView(bk))).toEqual([]);
    const other = img([{ created_by: 'COPY b /a # buildkit' }, { created_by: 'RUN true # buildkit' }]);
    expect(diffHistory(historyView(tb), historyView(other))).toHaveLength(1);
  });
});
