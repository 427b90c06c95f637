import type { Store } from '@tbuild/cache';
import { parseDockerfile, type Dockerfile } from '@tbuild/parser';
import { CODE_ID, isCodeId } from './code-id.ts';

interface Entry {
  code: string;
  file: string;
  text: string;
  dockerfile: Dockerfile;
}

/**
 * Parses a Dockerfile, or takes the syntax tree the last build of the same text made. A warm
 * build without the server spent ~40 ms here, most of it setting up Chevrotain's lexers and
 * parser in a fresh process. One entry per Dockerfile (`key`), kept only for the same text,
 * shown path and tbuild build; the tree is plain JSON (a test checks the round trip). Text with
 * errors is never kept, so every error is reported by a real parse. `code` is tbuild's build
 * (code-id.ts); none, as when run from sources, keeps nothing.
 */
export async function parseMemoized(store: Pick<Store, 'readMeta' | 'writeMeta'>, key: string, text: string, file: string, code = CODE_ID): Promise<Dockerfile> {
  if (!isCodeId(code)) return parseDockerfile(text, { file });
  const name = `parsed-${key}`;
  const kept = await store.readMeta(name).catch(() => undefined);
  if (kept) {
    try {
      const e = JSON.parse(kept.toString('utf8')) as Entry;
      if (e.code === code && e.file === file && e.text === text) return e.dockerfile;
    } catch {
      /* a torn or foreign entry is a miss */
    }
  }
  const dockerfile = parseDockerfile(text, { file });
  // The memo only saves time: a store that cannot take it must not fail the build.
  await store.writeMeta(name, JSON.stringify({ code, file, text, dockerfile } satisfies Entry)).catch(() => undefined);
  return dockerfile;
}
