export { buildTar, zstdStored } from './tar-builder.ts';
export type { TarSpec } from './tar-builder.ts';
