import { tbuild, TBUILD_BIN, type CliRun } from '../../support/cli.ts';

export type { CliRun };

/** The real tbuild binary (bundled by the suite's global setup), for the container commands. */
export async function containerCli(): Promise<{ tbuild: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliRun>; bin: string; cleanup: () => void }> {
  return { tbuild: (args, env = {}) => tbuild(args, { env }), bin: TBUILD_BIN, cleanup: () => undefined };
}
