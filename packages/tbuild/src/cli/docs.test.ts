import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands } from './commands/index.ts';
import { renderCliDocs } from './docs.ts';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../docs/cli.md');

describe('docs/cli.md', () => {
  it('lists every command and flag exactly as --help does', () => {
    const want = renderCliDocs(Object.values(commands).filter((c) => !c.spec.hidden).map((c) => c.spec));
    if (process.env.UPDATE_DOCS) fs.writeFileSync(DOC, want);
    expect(fs.readFileSync(DOC, 'utf8')).toBe(want);
  });

  it('gives every command a summary, a usage line and at least one example', () => {
    for (const c of Object.values(commands).filter((c) => !c.spec.hidden)) {
      expect(c.spec.summary, c.spec.name).not.toBe('');
      expect(c.spec.usage.startsWith(`tbuild ${c.spec.name}`), c.spec.name).toBe(true);
      expect(c.spec.examples.length, c.spec.name).toBeGreaterThan(0);
    }
  });
});
