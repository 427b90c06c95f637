import type { Command } from '../command.ts';
import { bakeCommand } from './bake.ts';
import { buildCommand } from './build.ts';
import { cacheCommand } from './cache.ts';
import {
  commitCommand,
  containerCommand,
  killCommand,
  logsCommand,
  psCommand,
  restartCommand,
  rmCommand,
  startCommand,
  stopCommand,
  waitCommand,
  portCommand,
} from './containers.ts';
import { execCommand, runCommand, superviseCommand } from './container-run.ts';
import { doctorCommand } from './doctor.ts';
import { historyCommand, imagesCommand, inspectCommand, loadCommand, pullCommand, pushCommand, rmiCommand, saveCommand, tagCommand } from './images.ts';
import { parseCommand } from './parse.ts';
import { planCommand } from './plan.ts';
import { serverCommand } from './server.ts';
import { version } from './version.ts';

/** Every command, by name; `build` is also what `tbuild [flags] CONTEXT` runs. */
export const commands: Record<string, Command> & { build: Command } = {
  build: buildCommand,
  bake: bakeCommand,
  plan: planCommand,
  cache: cacheCommand,
  parse: parseCommand,
  images: imagesCommand,
  tag: tagCommand,
  rmi: rmiCommand,
  inspect: inspectCommand,
  history: historyCommand,
  pull: pullCommand,
  push: pushCommand,
  save: saveCommand,
  load: loadCommand,
  run: runCommand,
  ps: psCommand,
  start: startCommand,
  stop: stopCommand,
  restart: restartCommand,
  kill: killCommand,
  rm: rmCommand,
  logs: logsCommand,
  exec: execCommand,
  commit: commitCommand,
  wait: waitCommand,
  port: portCommand,
  container: containerCommand,
  __supervise: superviseCommand,
  doctor: doctorCommand,
  server: serverCommand,
  version,
};
