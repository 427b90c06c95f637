import { superviseContainer } from '../supervisor.ts';

// Entry for tests: bundled with esbuild and run as `node entry.mjs STORE_ROOT ID START_ID`, the
// same way the CLI's hidden `__supervise` command runs the supervisor.
const [storeRoot, id, startId] = process.argv.slice(2);
if (!storeRoot || !id || !startId) {
  process.stderr.write('usage: supervisor-entry STORE_ROOT ID START_ID\n');
  process.exit(2);
}
superviseContainer({ storeRoot, id, startId }).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(70);
  },
);
