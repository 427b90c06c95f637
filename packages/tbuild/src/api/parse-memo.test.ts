import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '@tbuild/cache';
import { isBuildError } from '@tbuild/errors';
import { parse, parseDockerfile, type RunInstruction } from '@tbuild/parser';
import { parseMemoized } from './parse-memo.ts';

const corpus = fileURLToPath(new URL('../../../parser/test/fixtures/buildkit-parser/testfiles/', import.meta.url));
const TEXT = 'FROM busybox AS base\nRUN echo one\nFROM base\nCOPY --from=base /a /b\n';
const CODE = '0123456789abcdef01';

describe('parseMemoized', () => {
  let dir: string;
  let store: Store;
  const entry = (): string => path.join(dir, 'meta', 'parsed-k1');
  const forge = (command: string): void => {
    const e = JSON.parse(fs.readFileSync(entry(), 'utf8'));
    e.dockerfile.instructions[1].command.text = command;
    fs.writeFileSync(entry(), JSON.stringify(e));
  };
  const runText = (d: Awaited<ReturnType<typeof parseMemoized>>): string => ((d.instructions[1] as RunInstruction).command as { text: string }).text;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-parse-memo-'));
    store = await Store.open(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the tree of a parse and gives it back for the same text, path and code', async () => {
    const first = await parseMemoized(store, 'k1', TEXT, 'Dockerfile', CODE);
    expect(first).toEqual(parseDockerfile(TEXT, { file: 'Dockerfile' }));
    expect(fs.existsSync(entry())).toBe(true);
    // A tree that only the kept entry holds shows that the second call read it.
    forge('echo kept');
    expect(runText(await parseMemoized(store, 'k1', TEXT, 'Dockerfile', CODE))).toBe('echo kept');
  });

  it('parses again when the text, the shown path or the code differs, and keeps the new tree', async () => {
    await parseMemoized(store, 'k1', TEXT, 'Dockerfile', CODE);
    forge('echo kept');
    expect(runText(await parseMemoized(store, 'k1', TEXT.replace('one', 'two'), 'Dockerfile', CODE))).toBe('echo two');
    forge('echo kept');
    expect(runText(await parseMemoized(store, 'k1', TEXT.replace('one', 'two'), 'sub/Dockerfile', CODE))).toBe('echo two');
    expect(JSON.parse(fs.readFileSync(entry(), 'utf8')).file).toBe('sub/Dockerfile');
    forge('echo kept');
    expect(runText(await parseMemoized(store, 'k1', TEXT.replace('one', 'two'), 'sub/Dockerfile', 'fedcba9876543210ff'))).toBe('echo two');
    expect(JSON.parse(fs.readFileSync(entry(), 'utf8')).code).toBe('fedcba9876543210ff');
  });

  it('treats a torn entry as a miss and replaces it', async () => {
    fs.writeFileSync(entry(), '{"code":"0123');
    expect(runText(await parseMemoized(store, 'k1', TEXT, 'Dockerfile', CODE))).toBe('echo one');
    expect(JSON.parse(fs.readFileSync(entry(), 'utf8')).text).toBe(TEXT);
  });

  it('reports errors from a real parse and keeps nothing for text with errors', async () => {
    const bad = 'FROM busybox\nCOPY --chmod=999 a b\nFROBNICATE x\n';
    const err = await parseMemoized(store, 'k1', bad, 'Dockerfile', CODE).catch((e: unknown) => e);
    expect(isBuildError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/FROBNICATE|unknown instruction/i);
    expect(fs.existsSync(entry())).toBe(false);
  });

  it('keeps nothing without a code id (run from sources)', async () => {
    await parseMemoized(store, 'k1', TEXT, 'Dockerfile', '@@TBUILD_CODE_ID@@');
    expect(fs.existsSync(entry())).toBe(false);
  });

  it("round-trips every tree of BuildKit's parser corpus through JSON unchanged", () => {
    let checked = 0;
    for (const name of fs.readdirSync(corpus)) {
      const r = parse(fs.readFileSync(path.join(corpus, name, 'Dockerfile'), 'utf8'));
      if (r.errors.length) continue;
      checked++;
      expect(isDeepStrictEqual(JSON.parse(JSON.stringify(r.dockerfile)), r.dockerfile), name).toBe(true);
    }
    expect(checked).toBeGreaterThan(20);
  });
});
