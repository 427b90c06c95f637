import fs from 'node:fs';

/**
 * The host's python3 by absolute path, or undefined when there is none there. Absolute paths
 * only: PATH may point into places a build controls. Callers that can still try `python3` on
 * PATH say so themselves.
 */
export function hostPython(): string | undefined {
  return ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p));
}
