import type { Command } from '../command.ts';
import { doctorCommand } from './doctor.ts';
import { version } from './version.ts';

/** Every command, by name; `build` is also what `tbuild [flags] CONTEXT` runs. */
export const commands: Record<string, Command> & { build?: Command } = {
  doctor: doctorCommand,
  version,
};
