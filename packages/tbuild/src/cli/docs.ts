import { GLOBAL_FLAGS, type CommandSpec } from './args.ts';

/** docs/cli.md, generated from the same specs `--help` prints, so the two cannot drift apart. */
export function renderCliDocs(specs: CommandSpec[]): string {
  const out = [
    '# tbuild command reference',
    '',
    '<!-- Generated from the CLI\'s own flag specs by `UPDATE_DOCS=1 npx vitest run packages/tbuild/src/cli/docs.test.ts`; do not edit by hand. -->',
    '',
    '`tbuild [OPTIONS] CONTEXT` is `tbuild build [OPTIONS] CONTEXT`, like `docker buildx build`.',
    'Exit codes: 0 success, 1 build failure or user error, 2 usage error, 70 internal error (a tbuild bug).',
    'Results go to stdout (the image ID with `-q`, JSON with `--format json`); progress and errors go to stderr.',
    '',
    'Every command also takes (`--root` also before the command, as in `tbuild --root DIR images`):',
    '',
    ...GLOBAL_FLAGS.map((f) => `- \`--${f.name}${f.type === 'bool' ? '' : ` ${f.placeholder ?? 'VALUE'}`}\`${f.short ? ` (\`-${f.short}\`)` : ''}: ${f.help}`),
    '',
    'See also [differences from docker build](differences.md), [the store layout](store.md),',
    '[the cache key encoding](cache-key.md).',
    '',
  ];
  for (const s of specs) {
    out.push(`## tbuild ${s.name}`, '', s.summary + '.', '', '```', s.usage, '```', '');
    if (s.flags.length) {
      out.push('| flag | meaning |', '| --- | --- |');
      for (const f of s.flags) {
        const name = `\`--${f.name}${f.type === 'bool' ? '' : ` ${f.placeholder ?? 'VALUE'}`}\`${f.short ? `, \`-${f.short}\`` : ''}`;
        const extra = f.choices ? ` (${f.choices.join(', ')})` : f.type === 'list' ? ' (repeatable)' : '';
        out.push(`| ${name} | ${f.help.replace(/\|/g, '\\|')}${extra} |`);
      }
      out.push('');
    }
    if (s.examples.length) out.push('Examples:', '', '```sh', ...s.examples, '```', '');
  }
  return out.join('\n');
}
