export { BuildContext } from './build-context.ts';
export type { BuildContextOptions } from './build-context.ts';
export { ContextMemo } from './context-memo.ts';
export { IgnoreMatcher, loadIgnoreFile, parseDockerignore } from './dockerignore.ts';
export type { IgnorePattern } from './dockerignore.ts';
export { ContextErrorCode } from './errors.ts';
export type { ContextDigest, ContextSelection, ContextStats, SelectedFile, StatCachePersistence } from './types.ts';
