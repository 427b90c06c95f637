/** Which registry and repository a request is about, for auth scopes and error messages. */
export interface RepoContext {
  registry: string;
  repository: string;
}

export function pullScope(ctx: RepoContext): string {
  return `repository:${ctx.repository}:pull`;
}

export function pushScope(ctx: RepoContext): string {
  return `repository:${ctx.repository}:pull,push`;
}

