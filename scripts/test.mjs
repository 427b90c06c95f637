#!/usr/bin/env node
// Runs the whole suite (vitest) and ends with one plain summary line, "tests: N passed, N failed,
// N skipped", that CI readers understand without knowing vitest's own output format.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-vitest-')), 'results.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit' });
let summary = 'tests: 0 passed, 0 failed';
try {
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  summary = `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped`;
} catch {
  /* vitest died before writing results: the exit code below says so */
}
fs.rmSync(path.dirname(out), { recursive: true, force: true });
console.log(summary);
process.exit(r.status ?? 1);
