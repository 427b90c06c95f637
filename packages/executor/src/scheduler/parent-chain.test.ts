import { describe, expect, it } from 'vitest';
import { earlyChain, EarlyView, finalChain, pinMountDirs } from './parent-chain.ts';
import type { LayerRef } from './ports.ts';

const layer = (n: string): LayerRef => ({ digest: `sha256:${n}`, diffId: `sha256:${n}`, size: 1, mediaType: 'x' });
const dirsOf = async (layers: LayerRef[]): Promise<string[]> => layers.map((l) => `/snap/${l.diffId.slice(7)}`).reverse();
const settled = async <T>(p: Promise<T>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('EarlyView', () => {
  it('lets its dir move only once every pinned mount is made, and be removed once every mount is gone', async () => {
    const v = new EarlyView('/up');
    const pin = v.pin();
    const closed = v.close();
    expect(v.open).toBe(false);
    expect(() => v.pin()).toThrow();
    expect(await settled(closed)).toBe(false);
    pin.mounted();
    expect(await settled(closed)).toBe(true);
    const unused = v.unused();
    expect(await settled(unused)).toBe(false);
    pin.released();
    expect(await settled(unused)).toBe(true);
  });

  it('counts a pin whose mount failed as gone', async () => {
    const v = new EarlyView('/up');
    v.pin().released();
    expect(await settled(v.close())).toBe(true);
    expect(await settled(v.unused())).toBe(true);
  });

  it('reports cleanup once the owner says the dir is gone', async () => {
    const v = new EarlyView('/up');
    expect(await settled(v.cleanup)).toBe(false);
    const removed = deferred<void>();
    v.finish(removed.promise);
    expect(await settled(v.cleanup)).toBe(false);
    removed.resolve();
    expect(await settled(v.cleanup)).toBe(true);
  });
});

describe('pinMountDirs', () => {
  it("mounts open views in their layers' place, top-most first, over the written layers", async () => {
    const base = finalChain([layer('a'), layer('b')]);
    const lower = new EarlyView('/up/c');
    const upper = new EarlyView('/up/d');
    const c = earlyChain(lower, base, new Promise(() => undefined));
    const d = earlyChain(upper, c, new Promise(() => undefined));
    const { dirs, pins } = await pinMountDirs(d, dirsOf);
    expect(dirs).toEqual(['/up/d', '/up/c', '/snap/b', '/snap/a']);
    expect(pins).toHaveLength(2);
    // Both views now wait for the mount before they may move.
    expect(await settled(upper.close())).toBe(false);
    for (const p of pins) p.mounted();
    expect(await settled(lower.close())).toBe(true);
  });

  it('takes the written layer of a view that closed, and looks again if one closes while it waits', async () => {
    const written = deferred<LayerRef[]>();
    const view = new EarlyView('/up/c');
    const chain = earlyChain(view, finalChain([layer('a')]), written.promise);
    void view.close();
    const got = pinMountDirs(chain, dirsOf);
    expect(await settled(got)).toBe(false);
    written.resolve([layer('a'), layer('c')]);
    expect(await got).toEqual({ dirs: ['/snap/c', '/snap/a'], pins: [] });

    // Open when the walk passed it, closed by the time the layers below were ready: not pinned.
    const below = deferred<LayerRef[]>();
    const racing = new EarlyView('/up/e');
    const top = earlyChain(racing, { kind: 'final', layers: below.promise }, Promise.resolve([layer('a'), layer('e')]));
    const p = pinMountDirs(top, dirsOf);
    void racing.close();
    below.resolve([layer('a')]);
    expect(await p).toEqual({ dirs: ['/snap/e', '/snap/a'], pins: [] });
  });
});
