// BuildKit's SecretsUsedInArgOrEnv rule (the planner warns with the same words): a secret-looking
// word as the whole name or its first/last `_`-separated part, unless an allow word also is.
const SECRET_WORD = /(?:_|^)(?:apikey|auth|credentials?|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOW_WORD = /(?:_|^)(?:public|file|version)(?:_|$)/i;

export const REDACTED = '<redacted>';

/** Whether a variable's value must not be shown (cache inspect, cache why). */
export function looksSecret(name: string): boolean {
  return SECRET_WORD.test(name) && !ALLOW_WORD.test(name);
}

/** `K=V` with V replaced when K looks like a secret. */
export function redactAssignment(kv: string): string {
  const i = kv.indexOf('=');
  return i > 0 && looksSecret(kv.slice(0, i)) ? `${kv.slice(0, i)}=${REDACTED}` : kv;
}

/**
 * A deep copy of a key pre-image with secret-looking env values replaced: `env` lists of RUN
 * ops and the `Env` of config-only steps. Secret mount values never enter keys in the first place.
 */
export function redactKeyInputs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactKeyInputs);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if ((k === 'env' || k === 'Env') && Array.isArray(x)) out[k] = x.map((e) => (typeof e === 'string' ? redactAssignment(e) : e));
    else if (k === 'created_by' && typeof x === 'string') out[k] = redactText(x);
    else out[k] = redactKeyInputs(x);
  }
  return out;
}

/** Instruction or history text with the values of secret-looking `K=V` words replaced (`ARG TOKEN=abc`, `|1 TOKEN=abc sh -c ...`). */
export function redactText(text: string): string {
  return text.replace(/\b([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g, (m, k: string) => (looksSecret(k) ? `${k}=${REDACTED}` : m));
}
