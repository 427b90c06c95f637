export { expandWord, expandWords, expandWordWithMatches } from './expand.ts';
export type { ShellOptions, ExpansionResult } from './expand.ts';
export type { VarLookup } from './scanner.ts';
export { ShellExpansionError } from './errors.ts';
export type { ShellExpansionErrorInit } from './errors.ts';
