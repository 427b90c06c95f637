import { renderError } from '@tbuild/errors';
import { describe, expect, it } from 'vitest';
import { planError, planText } from './test-support.ts';

// What a user sees, exactly: file:line:col, the excerpt with a marker, the hint.
describe('rendered plan errors', () => {
  it('a COPY --from naming a later stage', async () => {
    const text = 'FROM busybox AS app\nCOPY --from=build /out /app\nFROM busybox AS build\n';
    const e = await planError(() => planText(text, { target: 'app' }));
    expect(renderError(e)).toBe(
      [
        'Dockerfile:2:6: error TB_PLAN_STAGE_ORDER: stage "build" is used before it is defined',
        '   1 | FROM busybox AS app',
        '>>>2 | COPY --from=build /out /app',
        '     |      ^~~~~~~~~~~~',
        '   3 | FROM busybox AS build',
        'hint: move stage "build" (line 3) above this one',
      ].join('\n'),
    );
  });

  it('a missing context source points at that source', async () => {
    const e = await planError(() => planText('FROM busybox\nCOPY a nope /x/\n', { files: { a: { content: '' } } }));
    expect(renderError(e)).toBe(
      [
        'Dockerfile:2:8: error TB_CONTEXT_NOT_FOUND: failed to compute cache key: "/nope": not found',
        '   1 | FROM busybox',
        '>>>2 | COPY a nope /x/',
        '     |        ^~~~',
        '   3 | ',
      ].join('\n'),
    );
  });
});
