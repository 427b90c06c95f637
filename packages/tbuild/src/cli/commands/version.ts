import type { Command } from '../command.ts';
import { write } from '../command.ts';
import { VERSION } from '../../api/version.ts';

export const version: Command = {
  spec: { name: 'version', summary: 'Show the tbuild version', usage: 'tbuild version', flags: [], examples: ['tbuild version'] },
  async run(ctx) {
    write(ctx.stdout, `tbuild ${VERSION} (node ${process.version}, ${process.platform}/${process.arch})`);
    return 0;
  },
};
