/**
 * Which build of tbuild runs: what the store keeps that only the same code may read back
 * (parse-memo.ts) names it. scripts/bundle.mjs writes a hash of the bundle over the
 * placeholder; run from sources (the unit tests), the placeholder stays and nothing is kept.
 */
export const CODE_ID: string = '@@TBUILD_CODE_ID@@';

/** False for the placeholder: code run from sources has no identity to keep anything under. */
export function isCodeId(code: string): boolean {
  return !code.startsWith('@@');
}
