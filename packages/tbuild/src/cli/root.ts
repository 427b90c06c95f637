import path from 'node:path';
import { defaultStoreRoot } from '@tbuild/cache';
import type { CliContext } from './command.ts';
import type { FlagValues } from './args.ts';

/** `--root`, else the store's default (TBUILD_ROOT, $XDG_DATA_HOME/tbuild, ~/.local/share/tbuild). */
export function storeRoot(ctx: CliContext, flags: FlagValues): string {
  const flag = typeof flags.root === 'string' ? flags.root : undefined;
  return flag ? path.resolve(ctx.cwd, flag) : defaultStoreRoot(ctx.env);
}
