#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const bundle = path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist/tbuild.mjs');
if (!fs.existsSync(bundle)) {
  process.stderr.write('tbuild is not built yet: run `pnpm build` in the repository root\n');
  process.exit(70);
}
const { main } = await import(bundle);
process.exitCode = await main(process.argv.slice(2));
