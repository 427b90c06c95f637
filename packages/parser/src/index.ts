/**
 * @tbuild/parser: Dockerfile text → typed AST + diagnostics.
 *
 * Two stages, like BuildKit: a line scanner (BOM, directives, continuations, heredocs, line
 * limit) and a Chevrotain grammar for instruction arguments, followed by a validation pass
 * modelled on BuildKit's `instructions.Parse`.
 */

export { parse, parseDockerfile, dumpBuildkit } from './parse.ts';
export type { ParseOptions, ParseResult } from './parse.ts';
export { parseMount } from './instructions/mount.ts';
export { isFlagTrue } from './instructions/flags.ts';
export { ParseCodes } from './codes.ts';

// Variable expansion (BuildKit's shell lexer), implemented in ./shell/.
export { expandWord, expandWords, expandWordWithMatches } from './shell/index.ts';
export type { VarLookup, ShellOptions } from './shell/index.ts';
export type { ParseCode } from './codes.ts';

export type {
  ArgDecl,
  ArgInstruction,
  CmdInstruction,
  CommandLine,
  CopyFlags,
  CopyInstruction,
  Directives,
  Dockerfile,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  Flag,
  FromInstruction,
  HealthcheckInstruction,
  Heredoc,
  Instruction,
  KeyValue,
  LabelInstruction,
  MaintainerInstruction,
  MountSpec,
  OnbuildInstruction,
  RunInstruction,
  ShellInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  Word,
  WorkdirInstruction,
} from './ast.ts';
