import type { SourceRange } from '@tbuild/errors';
import type { Diagnostics } from './diagnostics.ts';

// BuildKit's SecretsUsedInArgOrEnv: a secret-looking word as the whole name or its first/last
// `_`-separated part, unless an allow word (public, file, version) also appears that way.
const SECRET_WORD = /(?:_|^)(?:apikey|auth|credentials?|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOW_WORD = /(?:_|^)(?:public|file|version)(?:_|$)/i;

export function looksSecret(name: string): boolean {
  return SECRET_WORD.test(name) && !ALLOW_WORD.test(name);
}

/** Warns when an ARG or ENV name suggests a secret: its value would end up in the image config, history or cache keys. */
export function warnSecretName(diags: Diagnostics, instruction: 'ARG' | 'ENV', name: string, range: SourceRange): void {
  if (!looksSecret(name)) return;
  diags.warn(
    'TB_PLAN_SECRET_IN_ARG_OR_ENV',
    `Do not use ARG or ENV instructions for sensitive data (${instruction} "${name}")`,
    range,
    'pass it with --secret and read it through RUN --mount=type=secret',
  );
}

/** Paths the runtime owns: a WORKDIR or VOLUME there would escape or confuse the container (CVE-2024-21626). */
export function isProcPath(path: string): boolean {
  return path === '/proc' || path.startsWith('/proc/');
}
