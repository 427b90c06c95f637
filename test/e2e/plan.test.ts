import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

describe.skipIf(!isRoot)(`tbuild plan (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-plan-');

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.writeFileSync(path.join(work.dir, 'Dockerfile'), 'FROM busybox AS deps\nRUN echo deps > /deps\nFROM busybox AS unused\nRUN exit 1\nFROM busybox\nCOPY --from=deps /deps /deps\nCMD ["cat", "/deps"]\n');
  });
  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('prints stages, steps, keys and what would run, without running anything, then the hits after a build', async () => {
    const before = await tbuild(['plan', '--root', root, work.dir]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/^stage 0 \(deps\) linux\/\w+ from image docker\.io\/library\/busybox:latest@sha256:[0-9a-f]{64}$/m);
    expect(before.stdout).not.toContain('unused');
    expect(before.stdout).toMatch(/^ {2}0\.1 +run +[0-9a-f]{12} {2}RUN echo deps > \/deps {2}\[will run\]$/m);
    expect(before.stdout).toMatch(/^ {2}2\.1 +copy .*<- 0\.1 {2}\[will run\]$/m);
    expect(before.stdout).toContain('cache: 0 of 2 steps would be served from the cache');

    expect((await tbuild(['build', '--root', root, '-q', work.dir])).code).toBe(0);
    const after = await tbuild(['plan', '--root', root, '--format', 'json', work.dir]);
    const plan = JSON.parse(after.stdout) as { steps: Array<{ id: string; cached?: boolean; cacheKey: string }> };
    expect(plan.steps.filter((s) => s.cached).map((s) => s.id)).toEqual(['0.1', '2.1']);
    const keys = plan.steps.map((s) => s.cacheKey);
    expect(before.stdout).toContain(keys[0]!.slice(7, 19));
  });

  it("keeps the Dockerfile's syntax tree in the store for the next run of the same build of tbuild", async () => {
    const meta = path.join(root, 'meta');
    const keys = async (): Promise<string[]> => {
      const r = await tbuild(['plan', '--root', root, '--format', 'json', work.dir]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { steps: Array<{ cacheKey: string }> }).steps.map((s) => s.cacheKey);
    };
    const before = await keys();
    const names = fs.readdirSync(meta).filter((n) => n.startsWith('parsed-'));
    expect(names).toHaveLength(1);
    const file = path.join(meta, names[0]!);
    const entry = JSON.parse(fs.readFileSync(file, 'utf8'));
    // scripts/bundle.mjs put the bundle's hash over the placeholder.
    expect(entry.code).toMatch(/^[0-9a-f]{18}$/);
    expect(entry.text).toBe(fs.readFileSync(path.join(work.dir, 'Dockerfile'), 'utf8'));
    // A tree only the entry holds: the next plan reads it instead of parsing.
    entry.dockerfile.instructions[1].command.text = 'echo forged > /deps';
    fs.writeFileSync(file, JSON.stringify(entry));
    const forged = await keys();
    expect(forged[0]).not.toBe(before[0]);
    expect(forged.slice(1)).not.toEqual(before.slice(1));
    // Another build of tbuild (a new bundle) parses again.
    fs.writeFileSync(file, JSON.stringify({ ...entry, code: 'f'.repeat(18) }));
    expect(await keys()).toEqual(before);
  });

  it('renders with Graphviz', async () => {
    const r = await tbuild(['plan', '--root', root, '--format', 'dot', work.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(execFileSync('dot', ['-Tsvg'], { input: r.stdout }).toString()).toContain('<svg');
  });

  it('points at the line of a misspelt stage and suggests the stage', async () => {
    // Like BuildKit, an unknown --from name is an image; here no registry knows it.
    fs.writeFileSync(path.join(work.dir, 'Bad'), 'FROM busybox AS deps\nFROM busybox\nCOPY --from=dep /x /x\n');
    const r = await tbuild(['plan', '--root', root, '-f', path.join(work.dir, 'Bad'), work.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Bad:3:6: error TB_REGISTRY_\w+: /);
    expect(r.stderr).toContain('>>>3 | COPY --from=dep /x /x');
    expect(r.stderr).toContain('hint: did you mean the stage "deps"?');
  });
});
