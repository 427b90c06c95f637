import type { LayerRef } from './ports.ts';

/**
 * The upper dir of a step whose layer is still being written (tarred, gzipped, hashed): the
 * files are final, so a later step may mount it as a lower dir and run while the diff goes on.
 * It stands in for the layer's snapshot until it moves into the store (`close`), and the owner
 * removes it, when it has to, only once nothing mounts it any more (`unused`).
 */
export class EarlyView {
  readonly dir: string;
  #open = true;
  /** Pins taken whose mount has not been made yet: a move now could race them. */
  #mounting = 0;
  /** Pins whose mount is made and not yet gone. */
  #mounted = 0;
  #waiters: Array<() => void> = [];
  #finish!: (removed: Promise<void>) => void;
  /** Resolves once the owner is done with `dir` (moved into the store, or removed after its last mount): the build waits for it. */
  readonly cleanup = new Promise<void>((resolve) => {
    this.#finish = (removed) => void removed.then(resolve, () => resolve());
  });

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Whether a step may still mount `dir` (pin it first, synchronously). */
  get open(): boolean {
    return this.#open;
  }

  /** Pins `dir` for one mount: `mounted` once the mount is made, `released` once it is gone (or was never made). */
  pin(): ViewPin {
    if (!this.#open) throw new Error(`early view ${this.dir} is closed`);
    this.#mounting++;
    let state: 'mounting' | 'mounted' | 'done' = 'mounting';
    return {
      mounted: () => {
        if (state !== 'mounting') return;
        state = 'mounted';
        this.#mounting--;
        this.#mounted++;
        this.#wake();
      },
      released: () => {
        if (state === 'done') return;
        if (state === 'mounting') this.#mounting--;
        else this.#mounted--;
        state = 'done';
        this.#wake();
      },
    };
  }

  /**
   * Takes no more pins, and resolves once every mount already pinned is made: `dir` may then
   * move (a made overlay keeps its lower dirs whatever their path).
   */
  close(): Promise<void> {
    this.#open = false;
    return this.#until(() => this.#mounting === 0);
  }

  /** For the owner: `dir` is in the store, or `removed` will have removed it. */
  finish(removed: Promise<void> = Promise.resolve()): void {
    this.#finish(removed);
  }

  /** Resolves once no mount of `dir` is made or being made. */
  unused(): Promise<void> {
    return this.#until(() => this.#mounting === 0 && this.#mounted === 0);
  }

  #until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (done()) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

export interface ViewPin {
  mounted(): void;
  released(): void;
}

/**
 * The layers a step builds on. `layers` resolves once all of them are written; before that,
 * the top ones may be early views (`EarlyView`), which a step mounts in their place.
 */
export type ParentChain =
  | { readonly kind: 'final'; readonly layers: Promise<LayerRef[]> }
  | { readonly kind: 'early'; readonly view: EarlyView; readonly below: ParentChain; readonly layers: Promise<LayerRef[]> };

export function finalChain(layers: LayerRef[] | Promise<LayerRef[]>): ParentChain {
  const p = Promise.resolve(layers);
  return { kind: 'final', layers: p };
}

/** `view` on top of `below`; `layers` is the chain once the view's layer is written (it rejects if that fails). */
export function earlyChain(view: EarlyView, below: ParentChain, layers: Promise<LayerRef[]>): ParentChain {
  // A failure surfaces through the step that owns the layer; a chain nobody mounted must not count as unhandled.
  layers.catch(() => undefined);
  return { kind: 'early', view, below, layers };
}

/**
 * The dirs to mount `chain` at, top-most first, with the early views among them pinned (release
 * every pin once the mount is gone). Snapshot dirs come from `snapshotDirs` for the written part.
 */
export async function pinMountDirs(chain: ParentChain, snapshotDirs: (layers: LayerRef[]) => Promise<string[]>): Promise<{ dirs: string[]; pins: ViewPin[] }> {
  for (;;) {
    // A view closes only after the one below it (its diff waits for the layers below it), so the
    // open views are the top of the chain, and the rest is written or about to be.
    const open: EarlyView[] = [];
    let rest = chain;
    while (rest.kind === 'early' && rest.view.open) {
      open.push(rest.view);
      rest = rest.below;
    }
    const below = await snapshotDirs(await rest.layers);
    // Pinned with no await in between: a view still open now cannot move before its mount is made.
    if (open.every((v) => v.open)) return { dirs: [...open.map((v) => v.dir), ...below], pins: open.map((v) => v.pin()) };
  }
}
