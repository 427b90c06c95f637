import { describe, expect, it } from 'vitest';
import { diffKeyInputs } from './explain.ts';
import { planText } from './test-support.ts';

describe('diffKeyInputs', () => {
  it('names the build-arg that made a RUN miss', async () => {
    const a = await planText('FROM busybox\nARG V=1\nRUN make\n');
    const b = await planText('FROM busybox\nARG V=1\nRUN make\n', { buildArgs: { V: '2' } });
    expect(diffKeyInputs(a.steps[1]!.keyInputs, b.steps[1]!.keyInputs)).toEqual([{ path: 'op.env', before: ['V=1'], after: ['V=2'] }]);
    expect(diffKeyInputs(a.steps[0]!.keyInputs, b.steps[0]!.keyInputs)).toEqual([]);
  });

  it('points at the context digest of a COPY and at the parent of what follows', async () => {
    const a = await planText('FROM busybox\nCOPY f /f\nRUN x\n', { files: { f: { content: '1' } } });
    const b = await planText('FROM busybox\nCOPY f /f\nRUN x\n', { files: { f: { content: '2' } } });
    expect(diffKeyInputs(a.steps[0]!.keyInputs, b.steps[0]!.keyInputs).map((d) => d.path)).toEqual(['op.from.digest']);
    expect(diffKeyInputs(a.steps[1]!.keyInputs, b.steps[1]!.keyInputs).map((d) => d.path)).toEqual(['parent']);
  });

  it('reports nested and missing fields', () => {
    expect(diffKeyInputs({ op: { mounts: [{ t: 'a' }], x: 1 } }, { op: { mounts: [{ t: 'b' }, { t: 'c' }] } })).toEqual([
      { path: 'op.mounts[0].t', before: 'a', after: 'b' },
      { path: 'op.mounts[1]', after: { t: 'c' } },
      { path: 'op.x', before: 1 },
    ]);
    expect(diffKeyInputs({ a: ['x', 'y'] }, { a: ['y', 'x'] })).toEqual([{ path: 'a', before: ['x', 'y'], after: ['y', 'x'] }]);
  });
});
