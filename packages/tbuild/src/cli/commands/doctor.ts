import { doctor } from '../../api/doctor.ts';
import { storeRoot } from '../root.ts';
import type { Command } from '../command.ts';
import { write } from '../command.ts';
import { str } from '../args.ts';

export const doctorCommand: Command = {
  spec: {
    name: 'doctor',
    summary: 'Check that this machine can run builds, and say how to fix what is missing',
    usage: 'tbuild doctor [--runtime PATH] [--format text|json]',
    flags: [
      { name: 'runtime', type: 'string', placeholder: 'PATH', help: 'OCI runtime binary to check (default runc)' },
      { name: 'format', type: 'string', choices: ['text', 'json'], help: 'output format' },
    ],
    examples: ['tbuild doctor', 'tbuild doctor --format json'],
  },
  async run(ctx, { flags }) {
    const checks = await doctor({ root: storeRoot(ctx, flags), runtime: str(flags.runtime), env: ctx.env });
    if (flags.format === 'json') write(ctx.stdout, JSON.stringify(checks, null, 2));
    else
      for (const c of checks) {
        write(ctx.stdout, `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(22)} ${c.detail}`);
        if (!c.ok && c.fix) write(ctx.stdout, `      ${''.padEnd(22)} fix: ${c.fix}`);
      }
    return checks.every((c) => c.ok) ? 0 : 1;
  },
};
