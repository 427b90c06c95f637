import fs from 'node:fs/promises';
import path from 'node:path';
import { build, type BuildOptions } from '../../api/build.ts';
import { formatWhyReport } from '../../api/cache/why.ts';
import { parseAddHost, parseEntitlements, parseSecretSpecs, parseSshSpecs } from '../../api/run-inputs.ts';
import { exportSpecs, importSpecs } from '../../api/remote-cache.ts';
import { list, str, usageError, type CommandSpec, type FlagValues } from '../args.ts';
import type { CliContext, Command } from '../command.ts';
import { write } from '../command.ts';
import { createRenderer, PROGRESS_MODES, type ProgressMode } from '../progress/index.ts';
import { storeRoot } from '../root.ts';
import { createTraceRecorder } from '../trace.ts';
import { stepStarted } from '../code-cache.ts';

/** Flags shared by everything that plans a build (`build`, `plan`, `cache why`). */
export const PLAN_FLAGS: CommandSpec['flags'] = [
  { name: 'file', short: 'f', type: 'string', placeholder: 'PATH', help: "Dockerfile path ('-' reads stdin; default CONTEXT/Dockerfile)" },
  { name: 'build-arg', type: 'list', placeholder: 'K=V', help: 'set a build argument (bare K takes the value from the environment)' },
  { name: 'target', type: 'string', placeholder: 'STAGE', help: 'build this stage instead of the last one' },
  { name: 'no-cache', type: 'bool', help: 'do not use the cache for any step' },
  { name: 'no-cache-filter', type: 'list', placeholder: 'STAGE', help: 'do not use the cache for this stage' },
  { name: 'label', type: 'list', placeholder: 'K=V', help: 'add a label to the image' },
  { name: 'platform', type: 'string', placeholder: 'OS/ARCH', help: 'target platform (only the host platform for now)' },
  { name: 'secret', type: 'list', placeholder: 'id=ID,src=FILE', help: 'expose a secret to RUN --mount=type=secret (src=FILE or env=VAR)' },
  { name: 'pull', type: 'string', choices: ['missing', 'always', 'never'], help: 'when to pull base images (default missing)' },
  { name: 'build-context', type: 'list', placeholder: 'NAME=DIR|docker-image://REF', help: 'another context for COPY --from=NAME and RUN --mount from=NAME, or an image standing in for NAME' },
  { name: 'add-host', type: 'list', placeholder: 'HOST:IP', help: "add a line to RUN steps' /etc/hosts (IP host-gateway: the build host)" },
  { name: 'allow', type: 'list', placeholder: 'ENTITLEMENT', help: 'let RUN steps leave the sandbox: network.host (RUN --network=host), security.insecure (RUN --security=insecure)' },
  { name: 'insecure-registry', type: 'list', placeholder: 'HOST:PORT', help: 'reach this registry over plain HTTP (loopback ones always are)' },
];

export const buildSpec: CommandSpec = {
  name: 'build',
  summary: 'Build an image from a Dockerfile',
  usage: 'tbuild build [OPTIONS] CONTEXT',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'tag', short: 't', type: 'list', placeholder: 'NAME[:TAG]', help: 'name the image' },
    ...PLAN_FLAGS,
    { name: 'network', type: 'string', choices: ['default', 'none', 'host'], help: 'network for RUN steps: default (a bridge with NAT out), none (loopback only), host' },
    { name: 'ssh', type: 'list', placeholder: 'ID[=SOCKET]', help: 'forward an SSH agent socket to RUN --mount=type=ssh (default: $SSH_AUTH_SOCK)' },
    { name: 'output', short: 'o', type: 'list', placeholder: 'type=TYPE,dest=PATH', help: 'export: type=image (default), docker, oci, local, tar (the filesystem as one archive), registry' },
    { name: 'push', type: 'bool', help: 'push the tagged image to its registry (same as --output type=registry)' },
    { name: 'cache-from', type: 'list', placeholder: 'type=registry,ref=REF', help: 'take cache hits from a registry cache (or an image with inline cache), or type=local,src=DIR' },
    { name: 'cache-to', type: 'list', placeholder: 'type=registry,ref=REF[,mode=max]', help: 'export the cache: type=registry,ref=REF, type=local,dest=DIR or type=inline; mode=min (default) or max' },
    { name: 'iidfile', type: 'string', placeholder: 'FILE', help: 'write the image ID to FILE' },
    { name: 'metadata-file', type: 'string', placeholder: 'FILE', help: 'write build result metadata (JSON) to FILE' },
    { name: 'progress', type: 'string', choices: PROGRESS_MODES, help: 'progress output (default auto: tty on a terminal, plain in CI)' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'print only the image ID' },
    { name: 'jobs', short: 'j', type: 'string', placeholder: 'N', help: 'steps run at once (default: 2 per CPU, at least 8)' },
    { name: 'trace', type: 'string', placeholder: 'FILE', help: 'write the build timeline in Chrome trace format (open in Perfetto)' },
    { name: 'runtime', type: 'string', placeholder: 'PATH', help: 'OCI runtime binary (default runc)' },
    { name: 'explain', type: 'bool', help: 'before building, print why each step will miss the cache (as `tbuild cache why`)' },
  ],
  examples: [
    'tbuild -t my-app .',
    'tbuild build -f docker/Dockerfile --build-arg VERSION=1.2 --target prod -t registry.local:5000/app:1.2 --push .',
    'tbuild build -o type=docker,dest=app.tar -t app .',
    'tbuild build --progress=rawjson -q . > image-id.txt',
    'tbuild build --cache-from type=registry,ref=reg:5000/app:cache --cache-to type=registry,ref=reg:5000/app:cache,mode=max -t app .',
  ],
};

function keyValues(values: string[], flag: string, env: NodeJS.ProcessEnv, fromEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw usageError(`invalid --${flag} "${v}"`, `expected KEY=VALUE`);
    if (eq < 0) {
      if (!fromEnv) throw usageError(`invalid --${flag} "${v}"`, 'expected KEY=VALUE');
      // docker: a bare name takes its value from the environment, and is skipped when unset.
      if (env[v] !== undefined) out[v] = env[v]!;
      continue;
    }
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** Turns parsed flags into BuildOptions (shared with `plan` and `cache why`). */
export async function buildOptionsFromFlags(ctx: CliContext, flags: FlagValues, contextArg: string): Promise<BuildOptions> {
  const file = str(flags.file);
  const jobs = str(flags.jobs);
  if (jobs !== undefined && !(Number.isInteger(Number(jobs)) && Number(jobs) > 0)) throw usageError(`invalid --jobs "${jobs}"`, 'expected a positive whole number');
  let dockerfileText: string | undefined;
  if (file === '-') dockerfileText = await readStdin(ctx.stdin);
  return {
    context: path.resolve(ctx.cwd, contextArg),
    dockerfile: file && file !== '-' ? path.resolve(ctx.cwd, file) : undefined,
    dockerfileText,
    tags: list(flags.tag),
    buildArgs: keyValues(list(flags['build-arg']), 'build-arg', ctx.env, true),
    target: str(flags.target),
    noCache: flags['no-cache'] === true,
    noCacheFilter: list(flags['no-cache-filter']),
    labels: keyValues(list(flags.label), 'label', ctx.env, false),
    platform: str(flags.platform),
    secrets: parseSecretSpecs(list(flags.secret), ctx.cwd, (m, h) => usageError(`--secret: ${m}`, h)),
    allow: parseEntitlements(list(flags.allow), (m, h) => usageError(`${m} for --allow`, h)),
    addHosts: list(flags['add-host']).map((v) => parseAddHost(v, usageError)),
    buildContexts: Object.fromEntries(
      list(flags['build-context']).map((v) => {
        const eq = v.indexOf('=');
        if (eq <= 0 || eq === v.length - 1) throw usageError(`invalid --build-context "${v}"`, 'expected NAME=DIR or NAME=docker-image://REF');
        return [v.slice(0, eq), v.slice(eq + 1)];
      }),
    ),
    pull: str(flags.pull) as BuildOptions['pull'],
    insecureRegistries: list(flags['insecure-registry']),
    root: storeRoot(ctx, flags),
    env: ctx.env,
    cwd: ctx.cwd,
    signal: ctx.signal,
    jobs: jobs ? Number(jobs) : undefined,
  };
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const buildCommand: Command = {
  spec: buildSpec,
  async run(ctx, { flags, positionals }) {
    const opts = await buildOptionsFromFlags(ctx, flags, positionals[0]!);
    const quiet = flags.quiet === true;
    const mode = (str(flags.progress) ?? (quiet ? 'quiet' : 'auto')) as ProgressMode;
    const render = createRenderer(mode, ctx.stderr, ctx.env);
    const trace = str(flags.trace) ? createTraceRecorder() : undefined;
    opts.onEvent = (e) => {
      if (e.type === 'step-start') stepStarted();
      render(e);
      trace?.sink(e);
    };
    opts.network = str(flags.network) as BuildOptions['network'];
    opts.ssh = parseSshSpecs(list(flags.ssh), ctx.cwd, ctx.env, (m, h) => usageError(`--${m}`, h));
    opts.outputs = list(flags.output).map((o) => o.replace(/dest=([^,]+)/, (_m, d: string) => `dest=${path.resolve(ctx.cwd, d)}`));
    opts.push = flags.push === true;
    opts.cacheFrom = importSpecs(list(flags['cache-from'])).map((c) => (c.type === 'local' ? { ...c, src: path.resolve(ctx.cwd, c.src) } : c));
    opts.cacheTo = exportSpecs(list(flags['cache-to'])).map((c) => (c.type === 'local' ? { ...c, dest: path.resolve(ctx.cwd, c.dest) } : c));
    opts.runtime = str(flags.runtime);
    if (flags.explain === true) opts.explain = (report) => write(ctx.stderr, formatWhyReport(report, { missesOnly: true }));
    try {
      const result = await build(opts);
      const iid = str(flags.iidfile);
      if (iid) await fs.writeFile(path.resolve(ctx.cwd, iid), result.imageId);
      const meta = str(flags['metadata-file']);
      if (meta) {
        await fs.writeFile(
          path.resolve(ctx.cwd, meta),
          JSON.stringify(
            {
              'containerimage.config.digest': result.imageId,
              'containerimage.digest': result.digest,
              'image.name': result.tags.join(','),
              'tbuild.summary': result.summary,
              'tbuild.steps': result.steps,
            },
            null,
            2,
          ) + '\n',
        );
      }
      if (quiet) write(ctx.stdout, result.imageId);
      else if (mode !== 'rawjson') write(ctx.stderr, `image ${result.imageId}${result.tags.length ? ` tagged ${result.tags.join(', ')}` : ''}`);
      return 0;
    } finally {
      const t = str(flags.trace);
      if (t && trace) await fs.writeFile(path.resolve(ctx.cwd, t), trace.toJSON());
    }
  },
};
