import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { SupervisorLauncher } from './lifecycle.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Bundles src/testing/supervisor-entry.ts (as the CLI bundle does) and returns a launcher that
 * runs it with node: tests get the real detached supervisor without the CLI. The native xattr
 * module stays external, imported by absolute path from the executor's dependencies.
 */
export async function bundledSupervisor(): Promise<{ launch: SupervisorLauncher; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-supervisor-'));
  const outfile = path.join(dir, 'supervisor.mjs');
  const req = createRequire(path.join(here, '../../executor/package.json'));
  const xattr = req.resolve('@napi-rs/xattr');
  await build({
    entryPoints: [path.join(here, 'testing/supervisor-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['tbuild-source'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __tbuildRequire } from 'node:module'; const require = __tbuildRequire(import.meta.url);" },
    plugins: [{ name: 'xattr-external', setup: (b) => b.onResolve({ filter: /^@napi-rs\/xattr$/ }, () => ({ path: xattr, external: true })) }],
  });
  return {
    launch: (t) => ({ command: process.execPath, args: [outfile, t.storeRoot, t.id, t.startId] }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
