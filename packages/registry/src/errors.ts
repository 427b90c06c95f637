import { BuildError } from '@tbuild/errors';

/**
 * Registry error codes. Each names one failure users can act on; the message always says
 * which registry and repository were involved so a log line alone is enough to debug it.
 */
export type RegistryErrorCode =
  | 'TB_REGISTRY_INVALID_REF'
  | 'TB_REGISTRY_UNREACHABLE'
  | 'TB_REGISTRY_UNAUTHORIZED'
  | 'TB_REGISTRY_DENIED'
  | 'TB_REGISTRY_NOT_FOUND'
  | 'TB_REGISTRY_HTTP'
  | 'TB_REGISTRY_TOO_LARGE'
  | 'TB_REGISTRY_DIGEST_MISMATCH'
  | 'TB_REGISTRY_BAD_DOCUMENT'
  | 'TB_REGISTRY_NO_PLATFORM'
  | 'TB_REGISTRY_INSECURE_AUTH'
  | 'TB_REGISTRY_CREDENTIALS'
  | 'TB_REGISTRY_IMAGE_NOT_FOUND'
  | 'TB_REGISTRY_BAD_ARCHIVE';

export function registryError(
  code: RegistryErrorCode,
  message: string,
  opts: { hint?: string; cause?: unknown; details?: string[] } = {},
): BuildError {
  return new BuildError({ code, message, hint: opts.hint, details: opts.details }, { cause: opts.cause });
}

/** "registry 127.0.0.1:5000, repository a/b" — the prefix of every remote error message. */
export function where(registry: string, repository?: string): string {
  return repository ? `registry ${registry}, repository ${repository}` : `registry ${registry}`;
}
