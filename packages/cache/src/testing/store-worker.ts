// A separate OS process acting on a shared store, for the cross-process tests. Bundled with
// esbuild by store-concurrency.test.ts (Node 20 cannot run TypeScript directly).
import { sha256Digest, Store } from '../index.ts';

async function main(): Promise<void> {
  const [root, cmd, ...args] = process.argv.slice(2) as [string, string, ...string[]];
  const store = await Store.open(root);
  const say = (v: unknown): void => {
    process.stdout.write(`${JSON.stringify(v)}\n`);
  };
  switch (cmd) {
    case 'write': {
      const [n, me] = [Number(args[0]), args[1]!];
      for (let i = 0; i < n; i++) {
        for (const content of [`shared-${i}`.repeat(5000), `own-${me}-${i}`]) {
          const { digest } = await store.writeBlob(Buffer.from(content));
          const now = new Date().toISOString();
          await store.putStep({ key: content.slice(0, 20), layer: { digest, diffId: digest, size: content.length, mediaType: 'x' }, config: { by: me }, created: now, lastUsed: now, hits: 0, size: content.length });
          await store.touchStep(content.slice(0, 20));
        }
        const id = sha256Digest(`snap-${i}`);
        const dir = await store.makeTempDir();
        await import('node:fs/promises').then((fs) => fs.writeFile(`${dir}/by`, me));
        await store.adoptSnapshot(id, dir);
      }
      say({ done: me });
      break;
    }
    case 'hang-write': {
      const w = store.blobWriter();
      await w.write(Buffer.alloc(64 * 1024, 1));
      say({ started: true });
      setInterval(() => {}, 1 << 30); // stay alive until killed
      break;
    }
    case 'hold-lock': {
      await store.lock(args[0]!);
      say({ locked: true });
      setInterval(() => {}, 1 << 30); // stay alive until killed
      break;
    }
    case 'prune-forever': {
      // A prune that never finishes: gc's lock held, the prune count odd.
      void store.pruning(() => new Promise<never>(() => say({ pruning: true })));
      setInterval(() => {}, 1 << 30); // stay alive until killed
      break;
    }
    case 'lease': {
      await store.lease([args[0]!]);
      say({ leased: true });
      setInterval(() => {}, 1 << 30); // stay alive until killed
      break;
    }
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${String((e as Error)?.stack ?? e)}\n`);
  process.exit(1);
});
