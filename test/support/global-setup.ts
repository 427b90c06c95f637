import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from './cli.ts';

/**
 * End-to-end tests drive the real binary: bundle it once before the suite runs. A bundling
 * failure is reported but does not stop package unit tests; the e2e tests then fail on it.
 */
export default function setup(): void {
  try {
    execFileSync(process.execPath, [path.join(REPO, 'packages/tbuild/scripts/bundle.mjs')], { stdio: 'inherit' });
  } catch (e) {
    console.error(`tbuild bundle failed; end-to-end tests will fail: ${(e as Error).message}`);
  }
}
