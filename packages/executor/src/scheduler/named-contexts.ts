import type { ExecutorDeps, FileSelector } from './ports.ts';

/** The main context, or a named one (`--build-context`; the planner only names those the build has). */
export function contextOf(deps: ExecutorDeps, name: string | undefined): FileSelector & { readonly root: string } {
  const named = name === undefined ? undefined : deps.namedContexts?.get(name);
  if (name !== undefined && !named) throw new Error(`build context "${name}" was planned but not given to the executor`);
  return named ?? deps.context;
}
