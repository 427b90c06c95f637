import { commands } from '../../../packages/tbuild/src/cli/commands/index.ts';
import * as c from '../../../packages/tbuild/src/cli/commands/containers.ts';
import { main } from '../../../packages/tbuild/src/cli/main.ts';

// The real CLI with the container commands registered (the lead's commands/index.ts wins where
// it already registers them), so these tests do not depend on that registration having landed.
const mine: Record<string, (typeof commands)[string]> = {
  run: c.runCommand,
  start: c.startCommand,
  stop: c.stopCommand,
  restart: c.restartCommand,
  kill: c.killCommand,
  rm: c.rmCommand,
  logs: c.logsCommand,
  exec: c.execCommand,
  commit: c.commitCommand,
  wait: c.waitCommand,
  ps: c.psCommand,
  container: c.containerCommand,
  __supervise: c.superviseCommand,
};
for (const [k, v] of Object.entries(mine)) commands[k] ??= v;
process.exitCode = await main(process.argv.slice(2));
