import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerdUnavailable } from '../support/services.ts';
import { COPY_ADD_CASES } from './cases/copy-add.ts';
import { ERROR_CASES, MULTI_SOURCE_CASES } from './cases/errors.ts';
import { CONFIG_CASES } from './cases/config.ts';
import { RUN_CASES } from './cases/run.ts';
import { STAGE_CASES } from './cases/stages.ts';
import type { DiffCase } from './support/case.ts';
import { diffConfigs, diffHistory, diffTrees, historyView } from './support/compare.ts';
import { startDiffEnv, type DiffEnv } from './support/builders.ts';

/**
 * Issue 5's proof: the same Dockerfiles built by tbuild and by BuildKit (Docker 20.10's
 * dockerd) from the same base image digest give equal root filesystems and configs.
 * Deliberate differences are listed in docs/differences.md.
 */

const CASES: DiffCase[] = [...COPY_ADD_CASES, ...RUN_CASES, ...CONFIG_CASES, ...STAGE_CASES, ...ERROR_CASES, ...MULTI_SOURCE_CASES];
const unavailable = dockerdUnavailable();

describe.skipIf(unavailable !== undefined)(`tbuild vs BuildKit 20.10 (${unavailable ?? 'dockerd available'})`, () => {
  let env: DiffEnv | undefined;

  beforeAll(async () => {
    env = await startDiffEnv();
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
  });

  it('has at least 40 cases with unique names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  const rows: Array<[string, DiffCase]> = CASES.map((c) => [c.name, c]);
  it.for(rows)('%s', { timeout: 120_000 }, async ([, c], { skip }) => {
    if (!env) return skip('dockerd could not start here (its log tail is in the warning above)');
    const { tbuild, buildkit } = await env.build(c);
    if (c.expectError) {
      expect(buildkit.code, 'BuildKit accepted it').not.toBe(0);
      expect(tbuild.code, 'tbuild accepted it').not.toBe(0);
      expect(tbuild.log).toMatch(c.expectError);
      expect(tbuild.log).not.toMatch(/\n\s+at .*\.(ts|js|mjs):\d+/);
      return;
    }
    expect(buildkit.code, `BuildKit failed:\n${buildkit.log.slice(-3000)}`).toBe(0);
    expect(tbuild.code, `tbuild failed:\n${tbuild.log.slice(-3000)}`).toBe(0);
    const tb = tbuild.image!;
    const bk = buildkit.image!;
    const diffs = [...diffTrees(tb.tree, bk.tree, { stubs: c.mountStubs, mtimes: c.mtimes }), ...diffConfigs(tb.config, bk.config)];
    if (c.history !== false) diffs.push(...diffHistory(historyView(tb), historyView(bk)));
    // DIFF_REPORT=DIR keeps every case's differences for reading side by side.
    if (process.env.DIFF_REPORT && diffs.length) {
      const layers = (img: typeof tb): string => img.layerEntries.slice(1).map((l) => l.join(' ')).join('\n');
      fs.writeFileSync(path.join(process.env.DIFF_REPORT, `${c.name}.txt`), `${diffs.join('\n')}\ntbuild layers:\n${layers(tb)}\nbuildkit layers:\n${layers(bk)}\n`);
    }
    expect(diffs.join('\n')).toBe('');
  });
});
