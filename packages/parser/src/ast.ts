import type { SourceFile, SourceRange } from '@tbuild/errors';

/**
 * The typed Dockerfile AST. Every value is the *raw* text as written (after line continuations
 * are joined), never expanded: variable expansion depends on build args and stage state, which
 * is the planner's job. Every node keeps its source range so errors and lint can point at it.
 */

/** A piece of raw argument text and where it came from. */
export interface Word {
  value: string;
  range: SourceRange;
  /** COPY/ADD only: set when this source is a heredoc (`<<EOF`); use its content instead of a path. */
  heredoc?: Heredoc;
}

/**
 * A leading `--name=value` (or `--name`) flag. `name` is without the dashes (`mount`); `value`
 * has quotes and escapes removed (as BuildKit does for flags) and is undefined for a bare `--name`.
 */
export interface Flag {
  name: string;
  value: string | undefined;
  range: SourceRange;
}

/** A heredoc body (`<<EOF` ... `EOF`). */
export interface Heredoc {
  /** The delimiter word, without quotes and `-`. */
  name: string;
  /** The body, with tabs already stripped for `<<-`. Ends with `\n` unless empty. */
  content: string;
  /** False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no variable expansion. */
  expand: boolean;
  /** True for `<<-EOF`. */
  chomp: boolean;
  /** Set for `3<<EOF` style redirections. */
  fileDescriptor?: number;
  /** The body lines and the terminator line. */
  range: SourceRange;
  /** The `<<EOF` word on the instruction line. */
  wordRange?: SourceRange;
}

/** Shell form (`RUN echo hi`) or exec form (`RUN ["echo", "hi"]`). */
export type CommandLine =
  | { form: 'shell'; text: string; range: SourceRange }
  | { form: 'exec'; args: string[]; range: SourceRange };

export interface KeyValue {
  key: Word;
  /** Raw value, quotes and escapes kept (`"a b"` stays quoted). */
  value: Word;
  /** True for the legacy `ENV key some value` form (no `=`). */
  legacy: boolean;
}

export interface ArgDecl {
  name: Word;
  /** Raw default (quotes kept), when written as `ARG name=default`. */
  defaultValue?: Word;
}

interface InstructionBase {
  /** Upper-case canonical keyword: `RUN`, `COPY`, ... */
  keyword: string;
  /** Whole instruction, including every continued line and heredoc body. */
  range: SourceRange;
  /** Range of the keyword itself. */
  keywordRange: SourceRange;
  /** All leading flags, as written (validated against the instruction's allowlist). */
  flags: Flag[];
  /** The logical line after continuation joins, keyword included (for history and messages). */
  original: string;
  /** Comment lines directly above the instruction, `#` removed (for `# check=` and lint). */
  comments?: string[];
}

export interface FromInstruction extends InstructionBase {
  keyword: 'FROM';
  image: Word;
  /** As written; BuildKit compares stage names lower-cased. */
  stageName?: Word;
  platform?: Flag;
}

export interface RunInstruction extends InstructionBase {
  keyword: 'RUN';
  command: CommandLine;
  heredocs: Heredoc[];
  /** Raw `--mount` values; parse after expansion with `parseMount`. */
  mounts: Flag[];
  network?: Flag;
  security?: Flag;
}

export interface CmdInstruction extends InstructionBase {
  keyword: 'CMD';
  command: CommandLine;
}

export interface EntrypointInstruction extends InstructionBase {
  keyword: 'ENTRYPOINT';
  command: CommandLine;
}

export interface ShellInstruction extends InstructionBase {
  keyword: 'SHELL';
  /** SHELL only accepts the JSON form. */
  args: string[];
}

export interface LabelInstruction extends InstructionBase {
  keyword: 'LABEL';
  pairs: KeyValue[];
}

export interface EnvInstruction extends InstructionBase {
  keyword: 'ENV';
  pairs: KeyValue[];
}

export interface MaintainerInstruction extends InstructionBase {
  keyword: 'MAINTAINER';
  name: Word;
}

export interface ExposeInstruction extends InstructionBase {
  keyword: 'EXPOSE';
  /** In the order written (BuildKit sorts them, as strings, into the image config). */
  ports: Word[];
}

export interface CopyFlags {
  from?: Flag;
  chown?: Flag;
  chmod?: Flag;
  link?: Flag;
  parents?: Flag;
  exclude: Flag[];
  /** ADD only. */
  checksum?: Flag;
  /** ADD only. */
  keepGitDir?: Flag;
  /** ADD only: `--unpack`. */
  unpack?: Flag;
}

export interface CopyInstruction extends InstructionBase {
  keyword: 'COPY' | 'ADD';
  sources: Word[];
  destination: Word;
  /** True when written as a JSON array. */
  json: boolean;
  /** Heredoc sources (`COPY <<EOF /dst`); their names also appear in `sources` as `<<EOF`. */
  heredocs: Heredoc[];
  copyFlags: CopyFlags;
}

export interface VolumeInstruction extends InstructionBase {
  keyword: 'VOLUME';
  /** Each value is trimmed of surrounding whitespace (never empty). */
  paths: Word[];
}

export interface UserInstruction extends InstructionBase {
  keyword: 'USER';
  user: Word;
}

export interface WorkdirInstruction extends InstructionBase {
  keyword: 'WORKDIR';
  path: Word;
}

export interface ArgInstruction extends InstructionBase {
  keyword: 'ARG';
  args: ArgDecl[];
}

export interface OnbuildInstruction extends InstructionBase {
  keyword: 'ONBUILD';
  /** The trigger, parsed as an instruction of its own. */
  trigger: Instruction;
  /** The trigger's raw text, as stored in the image config's OnBuild list. */
  expression: string;
}

export interface StopsignalInstruction extends InstructionBase {
  keyword: 'STOPSIGNAL';
  signal: Word;
}

export interface HealthcheckInstruction extends InstructionBase {
  keyword: 'HEALTHCHECK';
  /** `HEALTHCHECK NONE` disables an inherited check. */
  kind: 'none' | 'cmd';
  command?: CommandLine;
  /** Durations in nanoseconds (as the image config stores them); absent means "inherit default". */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | LabelInstruction
  | EnvInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction;

export interface Directives {
  syntax?: string;
  /** `\` unless `# escape=` chose the backtick. */
  escape: '\\' | '`';
  /** Raw value of `# check=`. */
  check?: string;
}

export interface Dockerfile {
  directives: Directives;
  /** Every top-level instruction in file order, global ARGs (before the first FROM) included. */
  instructions: Instruction[];
  range: SourceRange;
  /**
   * The text every range refers to: the input minus a leading UTF-8 BOM. Always set by
   * `parse`; pass it as `ErrorLocation.file` when reporting a problem at one of the ranges.
   */
  source?: SourceFile;
}

/** A parsed `RUN --mount=...` value (after the planner expanded variables in it). */
export interface MountSpec {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  target?: string;
  source?: string;
  from?: string;
  readonly: boolean;
  /** type=cache */
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  /** type=secret / ssh: fail when missing. */
  required?: boolean;
  /** type=secret: expose as an environment variable instead of a file. */
  env?: string;
  /** type=tmpfs */
  size?: number;
}
