import { describe, expect, it } from 'vitest';
import { formatPlanJson } from './index.ts';
import { planText } from './test-support.ts';

const TEXT = `ARG B=busybox
FROM $B AS a
ARG X
ENV K=v
COPY . /src
RUN --mount=type=cache,target=/c make
FROM alpine
COPY --from=a /src /src
LABEL a=b
`;

const files = { 'b.txt': { content: 'b' }, 'a.txt': { content: 'a' }, 'd/c.txt': { content: 'c' } };
const shuffledFiles = { 'd/c.txt': { content: 'c' }, 'a.txt': { content: 'a' }, 'b.txt': { content: 'b' } };

describe('determinism', () => {
  it('the same inputs in another map order give a byte-identical plan', async () => {
    const one = await planText(TEXT, { files, buildArgs: { X: '1', HTTP_PROXY: 'p', Z: 'z', Y: 'y' }, labels: { l1: '1', l2: '2' } });
    const two = await planText(TEXT, { files: shuffledFiles, buildArgs: { Y: 'y', Z: 'z', HTTP_PROXY: 'p', X: '1' }, labels: { l2: '2', l1: '1' } });
    expect(formatPlanJson(two)).toBe(formatPlanJson(one));
    expect(one.warnings.map((w) => w.message)).toEqual([
      'build-arg "Y" was not consumed by any ARG of the stages built',
      'build-arg "Z" was not consumed by any ARG of the stages built',
    ]);
  });

  it('planning twice gives the same keys', async () => {
    const a = await planText(TEXT, { files });
    const b = await planText(TEXT, { files });
    expect(b.steps.map((s) => s.cacheKey)).toEqual(a.steps.map((s) => s.cacheKey));
    expect(new Set(a.steps.map((s) => s.cacheKey)).size).toBe(a.steps.length);
  });
});
