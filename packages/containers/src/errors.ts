import { BuildError } from '@tbuild/errors';

/**
 * Error codes for container operations. Stable strings: the CLI and scripts match on them.
 *
 * - TB_CONTAINER_NOT_FOUND: no container has that id, id prefix or name
 * - TB_CONTAINER_AMBIGUOUS: an id prefix matches several containers
 * - TB_CONTAINER_NAME_IN_USE: `--name` is taken by another container
 * - TB_CONTAINER_NAME_INVALID: a container or volume name breaks docker's naming rule
 * - TB_CONTAINER_RUNNING: the operation needs a stopped container (rm without -f, ...)
 * - TB_CONTAINER_NOT_RUNNING: the operation needs a running container (exec, kill, ...)
 * - TB_CONTAINER_NO_COMMAND: neither the image nor the command line gives a command
 * - TB_CONTAINER_START_FAILED: the process could not be started (not found, not executable)
 * - TB_CONTAINER_OPTION_INVALID: a run option (-v, --mount, --memory, ...) cannot be understood
 * - TB_CONTAINER_UNSUPPORTED: a docker feature tbuild does not offer yet (UDP ports, -p off the bridge)
 * - TB_CONTAINER_PORT: a published host port cannot be listened on (already in use)
 * - TB_CONTAINER_IMAGE_IN_USE: an image a container uses cannot be removed without force
 * - TB_CONTAINER_COMMIT_INVALID: a `commit -c` instruction cannot be applied
 */
export type ContainerErrorCode =
  | 'TB_CONTAINER_NOT_FOUND'
  | 'TB_CONTAINER_AMBIGUOUS'
  | 'TB_CONTAINER_NAME_IN_USE'
  | 'TB_CONTAINER_NAME_INVALID'
  | 'TB_CONTAINER_RUNNING'
  | 'TB_CONTAINER_NOT_RUNNING'
  | 'TB_CONTAINER_NO_COMMAND'
  | 'TB_CONTAINER_START_FAILED'
  | 'TB_CONTAINER_OPTION_INVALID'
  | 'TB_CONTAINER_UNSUPPORTED'
  | 'TB_CONTAINER_IMAGE_IN_USE'
  | 'TB_CONTAINER_COMMIT_INVALID'
  | 'TB_CONTAINER_PORT';

export function containerError(code: ContainerErrorCode, message: string, opts: { hint?: string; cause?: unknown; details?: string[] } = {}): BuildError {
  return new BuildError({ code, message, hint: opts.hint, details: opts.details }, { cause: opts.cause });
}
