export { diffUpperToLayer, DEFAULT_GZIP_LEVEL } from './diff-upper.ts';
export type { DiffOptions, LayerDiff, LayerSink } from './diff-upper.ts';
export { walkUpper } from './upper-walk.ts';
export type { LayerMember, WalkOptions } from './upper-walk.ts';
export { encodeHeader } from './tar-header.ts';
export type { TarEntry, TarEntryType } from './tar-header.ts';
export type { GzipMember, MemberIndex, MemberSource } from './gzip-members.ts';
