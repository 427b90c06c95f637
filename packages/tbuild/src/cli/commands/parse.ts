import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { dumpBuildkit, parse } from '@tbuild/parser';
import { str } from '../args.ts';
import type { Command } from '../command.ts';
import { write } from '../command.ts';

export const parseCommand: Command = {
  spec: {
    name: 'parse',
    summary: "Print a Dockerfile's syntax tree (JSON, or BuildKit's dump format to diff against BuildKit)",
    usage: 'tbuild parse [-f Dockerfile] [--format json|dump]',
    flags: [
      { name: 'file', short: 'f', type: 'string', placeholder: 'PATH', help: "Dockerfile to read ('-' for stdin; default ./Dockerfile)" },
      { name: 'format', type: 'string', choices: ['json', 'dump'], help: 'output format (default json)' },
    ],
    examples: ['tbuild parse', 'tbuild parse -f api/Dockerfile --format dump'],
  },
  async run(ctx, { flags }) {
    const file = str(flags.file) ?? 'Dockerfile';
    let text: string;
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const c of ctx.stdin) chunks.push(Buffer.from(c as Buffer));
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      text = await fs.readFile(path.resolve(ctx.cwd, file), 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new BuildError({ code: 'TB_CLI_DOCKERFILE', message: `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, hint: 'pass the path with -f' });
      });
    }
    const shown = file === '-' ? 'Dockerfile' : file;
    const result = parse(text, { file: shown });
    if (result.errors.length) throw new BuildError(result.errors);
    if (flags.format === 'dump') ctx.stdout.write(dumpBuildkit(text));
    else write(ctx.stdout, JSON.stringify(result.dockerfile, null, 2));
    return 0;
  },
};
