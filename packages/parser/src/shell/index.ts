export { expandWord, expandWords, expandWordWithMatches } from './expand.ts';
export type { ShellOptions, ExpansionResult } from './expand.ts';
export type { VarLookup } from './lexer.ts';
export { ShellExpansionError } from './errors.ts';
export type { ShellExpansionErrorInit } from './errors.ts';
