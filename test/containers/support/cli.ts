import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Bundles support/cli-entry.ts like packages/tbuild/scripts/bundle.mjs does; returns a runner for it. */
export async function containerCli(): Promise<{ tbuild: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliRun>; bin: string; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-cli-'));
  const bin = path.join(dir, 'tbuild.mjs');
  const xattr = createRequire(path.join(here, '../../../packages/executor/package.json')).resolve('@napi-rs/xattr');
  await build({
    entryPoints: [path.join(here, 'cli-entry.ts')],
    outfile: bin,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['tbuild-source'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __tbuildRequire } from 'node:module'; const require = __tbuildRequire(import.meta.url);" },
    plugins: [{ name: 'xattr-external', setup: (b) => b.onResolve({ filter: /^@napi-rs\/xattr$/ }, () => ({ path: xattr, external: true })) }],
  });
  const tbuild = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  return { tbuild, bin, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
