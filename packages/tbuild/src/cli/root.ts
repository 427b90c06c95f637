import os from 'node:os';
import path from 'node:path';
import type { CliContext } from './command.ts';
import type { FlagValues } from './args.ts';

/** `--root`, else TBUILD_ROOT, else $XDG_DATA_HOME/tbuild, else ~/.local/share/tbuild. */
export function storeRoot(ctx: CliContext, flags: FlagValues): string {
  const flag = typeof flags.root === 'string' ? flags.root : undefined;
  const chosen = flag ?? ctx.env.TBUILD_ROOT;
  if (chosen) return path.resolve(ctx.cwd, chosen);
  const data = ctx.env.XDG_DATA_HOME ?? path.join(ctx.env.HOME ?? os.homedir(), '.local/share');
  return path.join(data, 'tbuild');
}
