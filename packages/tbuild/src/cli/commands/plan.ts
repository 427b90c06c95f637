import { formatPlanDot, formatPlanJson, formatPlanText } from '@tbuild/planner';
import { planBuild } from '../../api/plan.ts';
import { importSpecs } from '../../api/remote-cache.ts';
import path from 'node:path';
import { list } from '../args.ts';
import type { Command } from '../command.ts';
import { write } from '../command.ts';
import { buildOptionsFromFlags, PLAN_FLAGS } from './build.ts';

export const planCommand: Command = {
  spec: {
    name: 'plan',
    summary: "Print the build graph (stages, steps, dependencies, cache keys, cache hits) without running it",
    usage: 'tbuild plan [--format text|json|dot] [BUILD FLAGS] CONTEXT',
    args: { min: 1, max: 1 },
    flags: [
      { name: 'format', type: 'string', choices: ['text', 'json', 'dot'], help: 'output format (default text)' },
      ...PLAN_FLAGS,
      { name: 'cache-from', type: 'list', placeholder: 'type=registry,ref=REF', help: 'also count hits in a shared cache (as build --cache-from; reads no layer)' },
    ],
    examples: ['tbuild plan .', 'tbuild plan --format dot . | dot -Tsvg > build.svg', 'tbuild plan --target test --build-arg VERSION=2 --format json .'],
  },
  async run(ctx, { flags, positionals }) {
    const opts = await buildOptionsFromFlags(ctx, flags, positionals[0]!);
    opts.cacheFrom = importSpecs(list(flags['cache-from'])).map((c) => (c.type === 'local' ? { ...c, src: path.resolve(ctx.cwd, c.src) } : c));
    opts.onEvent = (e) => {
      if (e.type === 'warning') write(ctx.stderr, `WARNING: ${e.message}`);
    };
    const { plan, cached } = await planBuild(opts);
    const format = flags.format ?? 'text';
    if (format === 'json') write(ctx.stdout, formatPlanJson(plan, { cached }));
    else if (format === 'dot') write(ctx.stdout, formatPlanDot(plan, { cached }));
    else write(ctx.stdout, formatPlanText(plan, { cached }));
    if (format === 'text') {
      const working = plan.steps.filter((s) => s.kind !== 'config');
      write(ctx.stdout, `cache: ${cached.size} of ${working.length} steps would be served from the cache`);
    }
    return 0;
  },
};
