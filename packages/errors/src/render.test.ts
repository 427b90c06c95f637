import { describe, expect, it } from 'vitest';
import { BuildError, renderError, suggest } from './index.ts';

describe('renderError', () => {
  it('shows file:line:col, the source line, a marker under the span and the hint', () => {
    const text = 'FROM busybox\nRUNN echo hi\nCMD ["sh"]\n';
    const err = new BuildError({
      code: 'TB_PARSE_UNKNOWN_INSTRUCTION',
      message: 'unknown instruction: RUNN',
      hint: 'did you mean RUN?',
      location: {
        file: { path: 'Dockerfile', text },
        range: { start: { line: 2, column: 1, offset: 13 }, end: { line: 2, column: 5, offset: 17 } },
      },
    });
    expect(renderError(err)).toBe(
      [
        'Dockerfile:2:1: error TB_PARSE_UNKNOWN_INSTRUCTION: unknown instruction: RUNN',
        '   1 | FROM busybox',
        '>>>2 | RUNN echo hi',
        '     | ^~~~',
        '   3 | CMD ["sh"]',
        'hint: did you mean RUN?',
      ].join('\n'),
    );
  });

  it('replaces terminal control characters from untrusted text', () => {
    const err = new BuildError({ code: 'TB_X', message: 'bad \u001b[2Jvalue' });
    expect(renderError(err)).toBe('error TB_X: bad ?[2Jvalue');
  });
});

describe('suggest', () => {
  it('finds the closest name within distance 2 and nothing beyond', () => {
    expect(suggest('RUNN', ['RUN', 'CMD', 'FROM'])).toBe('RUN');
    expect(suggest('xyzzy', ['RUN', 'CMD'])).toBeUndefined();
  });
});
