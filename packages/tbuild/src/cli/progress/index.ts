import type { BuildEvent } from '@tbuild/executor';
import { createPlainRenderer } from './plain.ts';
import { createRawJsonRenderer } from './rawjson.ts';
import { createTtyRenderer } from './tty.ts';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'rawjson' | 'quiet';
export const PROGRESS_MODES: ProgressMode[] = ['auto', 'tty', 'plain', 'rawjson', 'quiet'];

/** `auto` is the live view on a terminal, plain text in CI (no TTY, or CI set), like BuildKit. */
export function createRenderer(
  mode: ProgressMode,
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  env: NodeJS.ProcessEnv,
): (e: BuildEvent) => void {
  const resolved = mode === 'auto' ? (err.isTTY && !env.CI ? 'tty' : 'plain') : mode;
  switch (resolved) {
    case 'tty':
      return createTtyRenderer(err);
    case 'plain':
      return createPlainRenderer(err);
    case 'rawjson':
      return createRawJsonRenderer(err);
    default:
      return () => {};
  }
}
