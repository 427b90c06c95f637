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
// `digest` is what a build asks for: a warm one takes it from the stat cache's record of the
// selection; `hash` also lists every file, looking each one up in the stat cache.
const once = async (statCache, how = 'hash') => {
  const ctx = await BuildContext.open(dir, { ignore, statCache });
  await ctx.select(sel);
  if (how === 'digest') await ctx.digest(sel);
  else files = (await ctx.hash(sel)).files.length;
  await ctx.close();
};
const cold = await bestOf(3, async () => {
  saved = undefined;
  await once(persistence);
});
await once(persistence);
const warm = await bestOf(5, () => once(persistence));
await once(persistence, 'digest');
const warmDigest = await bestOf(5, () => once(persistence, 'digest'));
console.log(
  JSON.stringify({
    contextHash: {
      files,
      coldMs: Math.round(cold),
      warmMs: Math.round(warm),
      warmDigestMs: Math.round(warmDigest),
      statCacheKiB: (saved?.length ?? 0) >> 10,
      summary: `${files} entries: cold ${cold.toFixed(0)} ms (page cache warm, no stat cache), warm stat cache ${warm.toFixed(0)} ms, warm digest ${warmDigest.toFixed(0)} ms`,
    },
  }),
);
