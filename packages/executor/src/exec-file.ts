import { execFile, type ExecFileOptions } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * `promisify(execFile)`, looked up at the call and not when a module loads: the bundle loads
 * node:child_process on first use (scripts/bundle.mjs), and a warm build runs no command.
 */
export function execFileAsync(file: string, args: readonly string[], options: ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(file, args, { ...options, encoding: 'utf8' });
}
