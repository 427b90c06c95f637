import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '@tbuild/cache';
import type { Plan, PlannedStage, Step } from '@tbuild/planner';
import type { BuildEvent } from '../events.ts';
import { executePlan, type StepRunner } from './execute-plan.ts';
import type { ExecutorDeps } from './ports.ts';

// A scratch-based two-stage plan: `build` runs two steps, the target copies from it. The steps
// produce no layer, so the real store is all these tests need; what matters is which steps run.
const at = { start: { line: 1, column: 1 }, end: { line: 1, column: 2 } };
const key = (n: string): string => `sha256:${n.repeat(64)}`;
const config = { architecture: 'amd64', os: 'linux' };

function step(id: string, stage: number, parent: string | undefined, deps: Step['deps'], text: string, k: string): Step {
  return { id, stage, kind: 'run', parent, deps, location: at, text, cacheKey: key(k), keyInputs: {}, noCache: false, spec: { kind: 'run' }, config } as unknown as Step;
}

function stage(index: number, name: string, steps: string[]): PlannedStage {
  return { index, name, platform: { os: 'linux', architecture: 'amd64' }, base: { kind: 'scratch' }, root: { kind: 'scratch' }, baseKey: key('0'), finalKey: key('f'), steps, location: at, config } as PlannedStage;
}

const plan: Plan = {
  stages: [stage(0, 'build', ['b1', 'b2']), stage(1, 'final', ['f1'])],
  steps: [
    step('b1', 0, undefined, [], 'RUN make deps', '1'),
    step('b2', 0, 'b1', [], 'RUN make', '2'),
    step('f1', 1, undefined, [{ stage: 0, step: 'b2' }], 'COPY --from=build /out /', '3'),
  ],
  target: 1,
  warnings: [],
};

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

async function run(cachedKeys: string[]): Promise<{ ran: string[]; cached: string[] }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-lazy-'));
  roots.push(root);
  const store = await Store.open(root);
  const now = new Date().toISOString();
  for (const k of cachedKeys) await store.putStep({ key: key(k), created: now, lastUsed: now, hits: 0, size: 0 });
  const ran: string[] = [];
  const events: BuildEvent[] = [];
  const runner: StepRunner = async (s, _layers, ctx) => {
    // A COPY --from reads its dependency the way the real step does.
    for (const d of s.deps) await ctx.layersOf(d);
    ran.push(s.id);
    return undefined;
  };
  const deps = { store, stateDir: root, jobs: 1, onEvent: (e: BuildEvent) => events.push(e), imageLayers: async () => [] } as unknown as ExecutorDeps;
  await executePlan(plan, deps, runner);
  const cached = events.flatMap((e) => (e.type === 'step-cached' ? [e.step.id] : []));
  return { ran, cached };
}

describe('executePlan looks a step up before building what it reads', () => {
  it('a hit on the step that reads another stage builds nothing of that stage', async () => {
    expect(await run(['3'])).toEqual({ ran: [], cached: ['f1'] });
  });

  it('a miss builds the stage it reads first, with one job slot (no step holds a slot while it waits)', async () => {
    expect(await run([])).toEqual({ ran: ['b1', 'b2', 'f1'], cached: [] });
  });

  it('steps the target did not need are still shown as cached when they are', async () => {
    const r = await run(['1', '2', '3']);
    expect(r.ran).toEqual([]);
    expect(r.cached.sort()).toEqual(['b1', 'b2', 'f1']);
  });

  it('a partly cached stage behind a miss runs only its missing steps', async () => {
    expect(await run(['1'])).toEqual({ ran: ['b2', 'f1'], cached: ['b1'] });
  });
});
