/**
 * When bin/tbuild.js takes V8's code cache of the bundle. It keeps the functions compiled so
 * far; taken at the end of a build that ran steps, that included the executor, tar and gzip
 * (1.36 MB after a cold `nodeapp`), all of it read and deserialized by every later start. Taken
 * when the first step starts, it holds start-up, parse, plan and cache lookups (1.16 MB; a warm
 * build alone compiles 0.95 MB), and a build that runs steps compiles the rest as it goes: warm
 * `nodeapp` 2.5% faster, an edit of it no slower (20 and 12 alternating pairs). Taken this early,
 * it still has the bytecode of what ran first, which V8 flushes only from functions idle through
 * several collections: `--no-flush-bytecode` made no difference to the cache any more (cold
 * `nodeapp` and `bigctx`), and loading node:v8 to set it was ~4.5 ms of every start.
 */
let take: (() => void) | undefined;

/** bin/tbuild.js: `capture` is called once, when the first step of this process's build starts (else never). */
export function takeCodeCacheAtFirstStep(capture: () => void): void {
  take = capture;
}

/** The CLI's build and bake call this on each step that starts. */
export function stepStarted(): void {
  const t = take;
  take = undefined;
  t?.();
}
