// Context hashing of the 20,000-file workload tree: cold (no stat cache; files read and hashed)
// and warm (persisted stat cache; unchanged files are not read). Prints JSON on stdout.
import fs from 'node:fs';
import path from 'node:path';
import { bestOf, importPackage } from './bundle.mjs';

const work = process.argv[2] ?? '/tmp/tbb';
const dir = path.join(work, 'ctx/bigctx');
if (!fs.existsSync(path.join(dir, 'data'))) {
  console.log(JSON.stringify({ contextHash: { summary: `skipped: ${dir} not generated (run the macro benchmark first)` } }));
  process.exit(0);
}
const { BuildContext, IgnoreMatcher } = await importPackage('context');
const sel = { sources: ['data'], excludes: [], parents: false };
const ignore = new IgnoreMatcher([]);
let saved;
const persistence = { load: async () => saved, save: async (b) => void (saved = b) };
let files = 0;
const once = async (statCache) => {
  const ctx = await BuildContext.open(dir, { ignore, statCache });
  await ctx.select(sel);
  const d = await ctx.hash(sel);
  files = d.files.length;
  await ctx.close();
};
const cold = await bestOf(3, async () => {
  saved = undefined;
  await once(persistence);
});
await once(persistence);
const warm = await bestOf(5, () => once(persistence));
console.log(
  JSON.stringify({
    contextHash: {
      files,
      coldMs: Math.round(cold),
      warmMs: Math.round(warm),
      statCacheKiB: (saved?.length ?? 0) >> 10,
      summary: `${files} entries: cold ${cold.toFixed(0)} ms (page cache warm, no stat cache), warm stat cache ${warm.toFixed(0)} ms`,
    },
  }),
);
