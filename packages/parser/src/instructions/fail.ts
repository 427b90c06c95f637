import type { SourceRange } from '@tbuild/errors';

/** A problem with one instruction found by the second pass; caught per instruction. */
export class InstructionError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly range: SourceRange,
    readonly hint?: string,
  ) {
    super(message);
  }
}
