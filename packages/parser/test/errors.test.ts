/** What a user sees: rendered errors, exactly (renderError from @tbuild/errors). */
import { describe, expect, it } from 'vitest';
import { BuildError, renderError } from '@tbuild/errors';
import { parse, parseDockerfile } from '../src/index.ts';

function rendered(text: string, file?: string): string {
  try {
    parseDockerfile(text, file ? { file } : {});
  } catch (e) {
    if (e instanceof BuildError) return renderError(e);
    throw e;
  }
  throw new Error('expected a BuildError');
}

describe('rendered errors', () => {
  it('three bad lines, three errors, each at its exact span', () => {
    const text = 'FROM alpine\nRUNN echo hi\nCOPY --form=build /a /b\nCMD ["echo", 42]\nUSER app\n';
    expect(rendered(text, 'services/api/Dockerfile')).toBe(
      [
        'services/api/Dockerfile:2:1: error TB_PARSE_UNKNOWN_INSTRUCTION: unknown instruction: RUNN',
        '   1 | FROM alpine',
        '>>>2 | RUNN echo hi',
        '     | ^~~~',
        '   3 | COPY --form=build /a /b',
        'hint: did you mean RUN?',
        '',
        'services/api/Dockerfile:3:6: error TB_PARSE_UNKNOWN_FLAG: unknown flag: --form',
        '   2 | RUNN echo hi',
        '>>>3 | COPY --form=build /a /b',
        '     |      ^~~~~~~~~~~~',
        '   4 | CMD ["echo", 42]',
        'hint: did you mean --from?',
        '',
        'services/api/Dockerfile:4:14: error TB_PARSE_JSON_NOT_STRINGS: when using JSON array syntax, arrays must be comprised of strings only',
        '   3 | COPY --form=build /a /b',
        '>>>4 | CMD ["echo", 42]',
        '     |              ^~',
        '   5 | USER app',
        'hint: write every element as a JSON string, for example "80" instead of 80',
      ].join('\n'),
    );
  });

  it('the suggestion keeps the case the user typed', () => {
    expect(rendered('from alpine\nrunn echo\n').split('\n').at(-1)).toBe('hint: did you mean run?');
    expect(rendered('FROM alpine\nWORKDIRR /x\n').split('\n').at(-1)).toBe('hint: did you mean WORKDIR?');
  });

  it('an unknown instruction far from every name gets no hint', () => {
    expect(rendered('FROM alpine\nFROBNICATE x\n')).toBe(
      [
        'Dockerfile:2:1: error TB_PARSE_UNKNOWN_INSTRUCTION: unknown instruction: FROBNICATE',
        '   1 | FROM alpine',
        '>>>2 | FROBNICATE x',
        '     | ^~~~~~~~~~',
        '   3 | ',
      ].join('\n'),
    );
  });

  it('a flag on a continued line points at that line', () => {
    expect(rendered('FROM x\nRUN --mount=type=cache,target=/x \\\n    --netwrk=host \\\n    make\n')).toBe(
      [
        'Dockerfile:3:5: error TB_PARSE_UNKNOWN_FLAG: unknown flag: --netwrk',
        '   2 | RUN --mount=type=cache,target=/x \\',
        '>>>3 |     --netwrk=host \\',
        '     |     ^~~~~~~~~~~~~',
        '   4 |     make',
        'hint: did you mean --network?',
      ].join('\n'),
    );
  });

  it('ENV without a value (BuildKit testfiles-negative/env_no_value)', () => {
    expect(rendered('FROM busybox\n\nENV PATH')).toBe(
      [
        'Dockerfile:3:5: error TB_PARSE_MISSING_VALUE: ENV must have two arguments',
        '   2 | ',
        '>>>3 | ENV PATH',
        '     |     ^~~~',
        'hint: give PATH a value: ENV PATH=value',
      ].join('\n'),
    );
  });

  it('unterminated heredoc with an indented terminator', () => {
    expect(rendered('FROM x\nRUN <<EOF\necho\n  EOF\n')).toBe(
      [
        'Dockerfile:2:5: error TB_PARSE_UNTERMINATED_HEREDOC: unterminated heredoc',
        '   1 | FROM x',
        '>>>2 | RUN <<EOF',
        '     |     ^~~~~',
        '   3 | echo',
        'hint: line 4 holds "EOF" with extra whitespace; the terminator must be exactly "EOF" (<<-EOF also allows leading tabs)',
      ].join('\n'),
    );
  });

  it('empty file and comments only', () => {
    expect(rendered('')).toBe(
      [
        'Dockerfile:1:1: error TB_PARSE_EMPTY_FILE: file with no instructions',
        '>>>1 | ',
        '     | ^',
        'hint: a Dockerfile needs at least a FROM instruction',
      ].join('\n'),
    );
    expect(rendered('# Hello\n# These are just comments\n').split('\n')[0]).toBe('Dockerfile:1:1: error TB_PARSE_EMPTY_FILE: file with no instructions');
  });

  it('an instruction before the first FROM', () => {
    expect(rendered('ARG V=1\nRUN echo\nRUN again\n')).toBe(
      [
        'Dockerfile:2:1: error TB_PARSE_NO_STAGE: no build stage in current context',
        '   1 | ARG V=1',
        '>>>2 | RUN echo',
        '     | ^~~',
        '   3 | RUN again',
        'hint: start a stage with FROM <image> before this RUN; only ARG may come before the first FROM',
      ].join('\n'),
    );
  });

  it('directives', () => {
    expect(rendered('# syntax=a\n# syntax=b\nFROM x\n').split('\n')[0]).toBe(
      'Dockerfile:2:1: error TB_PARSE_DUPLICATE_DIRECTIVE: only one syntax parser directive can be used',
    );
    expect(rendered('# escape=x\nFROM x\n')).toBe(
      [
        "Dockerfile:1:10: error TB_PARSE_INVALID_ESCAPE: invalid escape token 'x' does not match ` or \\",
        '>>>1 | # escape=x',
        '     |          ^',
        '   2 | FROM x',
        'hint: use # escape=\\ or # escape=`',
      ].join('\n'),
    );
  });

  it('stage names and FROM arity', () => {
    expect(rendered('FROM x AS 1st\n').split('\n')[0]).toBe(
      'Dockerfile:1:11: error TB_PARSE_INVALID_STAGE_NAME: invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
    );
    expect(rendered('FROM y AS\n').split('\n')[0]).toBe('Dockerfile:1:6: error TB_PARSE_ARGUMENT_COUNT: FROM requires either one or three arguments');
  });

  it('ONBUILD triggers', () => {
    const lines = rendered('FROM x\nONBUILD ONBUILD RUN x\nONBUILD FROM y\nONBUILD maintainer me\nONBUILD\n')
      .split('\n')
      .filter((l) => l.startsWith('Dockerfile:'));
    expect(lines).toEqual([
      'Dockerfile:2:9: error TB_PARSE_INVALID_TRIGGER: Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed',
      "Dockerfile:3:9: error TB_PARSE_INVALID_TRIGGER: FROM isn't allowed as an ONBUILD trigger",
      "Dockerfile:4:9: error TB_PARSE_INVALID_TRIGGER: MAINTAINER isn't allowed as an ONBUILD trigger",
      'Dockerfile:5:1: error TB_PARSE_ARGUMENT_COUNT: ONBUILD requires at least one argument',
    ]);
  });

  it('argument checks use BuildKit wording', () => {
    const messages = parse(
      'FROM x\nCOPY onlyone\nSHELL /bin/bash -c\nSHELL []\nVOLUME [""]\nUSER\nEXPOSE\nARG\nARG =x\nENV A=1 B\nENV =x\nLABEL\nMAINTAINER\nSTOPSIGNAL\n',
    ).errors.map((e) => `${e.location?.range.start.line}: ${e.message}`);
    expect(messages).toEqual([
      '2: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
      '3: SHELL requires the arguments to be in JSON form',
      '4: SHELL requires at least one argument',
      '5: VOLUME specified can not be an empty string',
      '6: USER requires exactly one argument',
      '7: EXPOSE requires at least one argument',
      '8: ARG requires at least one argument',
      '9: ARG names can not be blank',
      '10: Syntax error - can\'t find = in "B". Must be of the form: name=value',
      '11: ENV names can not be blank',
      '12: LABEL requires at least one argument',
      '13: MAINTAINER requires exactly one argument',
      '14: STOPSIGNAL requires exactly one argument',
    ]);
  });

  it('instructions with errors are left out of the AST; the rest is kept', () => {
    const r = parse('FROM x\nRUNN a\nRUN b\nCOPY a\nCMD ["c"]\n');
    expect(r.errors).toHaveLength(2);
    expect(r.dockerfile.instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'CMD']);
  });

  it('errors and warnings are in file order', () => {
    const r = parse('FROM x\nRUN a \\\n\n b\nRUNN\nCOPY --bad a b\nENV\n');
    expect(r.errors.map((e) => e.location?.range.start.line)).toEqual([5, 6, 7]);
    expect(r.warnings.map((e) => e.location?.range.start.line)).toEqual([3]);
  });

  it('control characters from the file are not echoed raw', () => {
    const out = rendered('FROM x\n\u001b[2JBAD x\n');
    expect(out).not.toContain('\u001b');
    expect(out.split('\n')[0]).toBe('Dockerfile:2:1: error TB_PARSE_UNKNOWN_INSTRUCTION: unknown instruction: ?[2JBAD');
  });
});

describe('JSON arrays with non-strings', () => {
  it('points at the first non-string element, also when it is deeply nested', () => {
    for (const depth of [1, 10, 100, 3000]) {
      const text = 'FROM x\nCMD ["a", ' + '['.repeat(depth) + '"b"' + ']'.repeat(depth) + ', 1]\n';
      const [e] = parse(text).errors;
      expect(e?.message).toBe('when using JSON array syntax, arrays must be comprised of strings only');
      expect(e?.location?.range.start.column).toBe(11);
      expect(e?.location?.range.end.column).toBe(11 + 2 * depth + 3);
    }
  });

  it('beyond Go encoding/json depth limit (10000) it is not JSON, so shell form', () => {
    const r = parse('FROM x\nCMD ' + '['.repeat(10001) + ']'.repeat(10001) + '\n');
    expect(r.errors).toEqual([]);
    const cmd = r.dockerfile.instructions[1];
    expect(cmd?.keyword === 'CMD' && cmd.command.form).toBe('shell');
  });
});
