import { bake } from '../../api/bake.ts';
import { str } from '../args.ts';
import type { Command } from '../command.ts';
import { write } from '../command.ts';
import { createRenderer, PROGRESS_MODES, type ProgressMode } from '../progress/index.ts';
import { storeRoot } from '../root.ts';
import { stepStarted } from '../code-cache.ts';

export const bakeCommand: Command = {
  spec: {
    name: 'bake',
    summary: 'Build several images from a bake file (buildx JSON format) in parallel on one store',
    usage: 'tbuild bake [-f docker-bake.json] [TARGET...]',
    args: { min: 0 },
    flags: [
      { name: 'file', short: 'f', type: 'string', placeholder: 'FILE', help: 'bake file (default docker-bake.json)' },
      { name: 'no-cache', type: 'bool', help: 'do not use the cache' },
      { name: 'push', type: 'bool', help: 'push every tagged image' },
      { name: 'progress', type: 'string', choices: PROGRESS_MODES, help: 'progress output (default auto)' },
      { name: 'jobs', short: 'j', type: 'string', placeholder: 'N', help: 'steps run at once across all targets (default: 2 per CPU, at least 8)' },
    ],
    examples: ['tbuild bake', 'tbuild bake -f ci/docker-bake.json api web', 'tbuild bake --progress=plain all'],
  },
  async run(ctx, { flags, positionals }) {
    const render = createRenderer((str(flags.progress) ?? 'auto') as ProgressMode, ctx.stderr, ctx.env);
    const jobs = str(flags.jobs);
    const result = await bake({
      file: str(flags.file),
      targets: positionals,
      cwd: ctx.cwd,
      root: storeRoot(ctx, flags),
      jobs: jobs ? Number(jobs) : undefined,
      noCache: flags['no-cache'] === true,
      push: flags.push === true,
      onEvent: (e) => {
        if (e.type === 'step-start') stepStarted();
        // One build-start/build-done per target would confuse a shared renderer: show steps only.
        if (e.type !== 'build-start' && e.type !== 'build-done') render(e);
      },
      signal: ctx.signal,
      env: ctx.env,
    });
    for (const t of result.targets) write(ctx.stdout, `${t.name}\t${t.result.imageId}\t${t.result.tags.join(',')}`);
    return 0;
  },
};
