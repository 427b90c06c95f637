import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TBUILD_BIN = path.join(REPO, 'packages/tbuild/bin/tbuild.js');
/** The native client for the build server (packages/tbuild/native/client.c), where `pnpm build` could compile it. */
export const THIN_CLIENT = path.join(REPO, 'packages/tbuild/dist/tbuild-client');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How a test starts tbuild: `node bin/tbuild.js`, or the thin client, which execs that for what a server does not run. */
export type Entry = 'node' | 'thin';

/** The command line that runs tbuild with `args` through `entry`. */
export function entryCommand(entry: Entry, args: string[]): [string, string[]] {
  return entry === 'thin' ? [THIN_CLIENT, args] : [process.execPath, [TBUILD_BIN, ...args]];
}

/**
 * Runs the real `tbuild` binary (the bundle `pnpm build` makes; the suite's global setup builds
 * it) with `input` on its stdin (`devNull`: /dev/null, as under CI); killed after `timeoutMs`,
 * which `timedOut` reports.
 */
export function tbuild(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer | 'devNull'; timeoutMs?: number; entry?: Entry } = {},
): Promise<CliRun & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = entryCommand(opts.entry ?? 'node', args);
    const devNull = opts.input === 'devNull';
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, CI: '1', ...opts.env },
      stdio: [devNull ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, timedOut });
    });
    if (devNull) return;
    // A command that exits without reading all of its input must not fail the test runner.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}
