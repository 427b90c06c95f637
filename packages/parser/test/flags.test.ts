/** Flag validation (BuildKit bflag.go semantics), RUN --mount values and HEALTHCHECK values. */
import { describe, expect, it } from 'vitest';
import { BuildError, isBuildError } from '@tbuild/errors';
import { isFlagTrue, parse, parseMount } from '../src/index.ts';
import { parseGoDuration } from '../src/instructions/duration.ts';

/** [message, hint] of the single error parsing `FROM scratch\n<line>` gives, or [] if none. */
function problem(line: string): string[] {
  const r = parse(`FROM scratch\n${line}\n`);
  expect(r.errors.length).toBeLessThanOrEqual(1);
  const e = r.errors[0];
  return e ? [e.message, e.hint ?? ''] : [];
}

describe('flags', () => {
  it.each([
    ['COPY --fro=build a b', 'unknown flag: --fro', 'did you mean --from?'],
    ['COPY --network=host a b', 'unknown flag: --network', '--network is a flag of RUN, not COPY'],
    ['COPY --checksum=sha256:x a b', 'unknown flag: --checksum', '--checksum is a flag of ADD, not COPY'],
    ['ADD --from=x a b', 'unknown flag: --from', '--from is a flag of COPY, not ADD'],
    ['RUN --mout=type=cache,target=/x make', 'unknown flag: --mout', 'did you mean --mount?'],
    ['RUN --device=/dev/fuse make', 'unknown flag: --device', 'RUN accepts --mount, --network, --security'],
    ['ENV --x=1 A=b', 'unknown flag: --x', 'ENV takes no flags'],
    ['WORKDIR --mode=0700 /x', 'unknown flag: --mode', 'WORKDIR takes no flags'],
    ['ARG --x NAME', 'unknown flag: --x', 'ARG takes no flags'],
    ['STOPSIGNAL --x=1 SIGTERM', 'unknown flag: --x', 'STOPSIGNAL takes no flags'],
    ['ONBUILD --x RUN a', 'unknown flag: --x', 'ONBUILD takes no flags'],
    ['COPY --from=a --from=b x y', 'duplicate flag specified: --from', '--from may be given once'],
    ['COPY --link= a b', 'missing a value on flag: --link', 'write --link, --link=true or --link=false'],
    ['COPY --link=yes a b', 'expecting boolean value for flag --link, not: yes', 'write --link, --link=true or --link=false'],
    ['COPY --from a b', 'missing a value on flag: --from', 'write --from=<value>'],
    ['COPY --exclude a b', 'missing a value on flag: --exclude', 'write --exclude=<value>'],
    ['RUN --network=bridge make', 'invalid network mode "bridge"', 'use --network=default, --network=none or --network=host'],
    ['RUN --security=privileged make', 'security "privileged" is not valid', 'use --security=sandbox or --security=insecure'],
  ])('%s', (line, message, hint) => {
    expect(problem(line)).toEqual([message, hint]);
  });

  it.each([
    'COPY --link --exclude=a --exclude=b a b',
    'COPY --link=TRUE --parents=False a b',
    'COPY --from= a b',
    'ADD --keep-git-dir --unpack=true --checksum=sha256:0 https://x/y.tgz /z',
    'RUN --mount=type=bind,target=/x --mount=type=tmpfs,target=/t make',
    'RUN --network=default --security=sandbox make',
    'HEALTHCHECK --interval=5s --retries=0 CMD true',
  ])('accepts %s', (line) => {
    expect(problem(line)).toEqual([]);
  });

  it('quotes and escapes inside flags are removed, `--` ends the flags', () => {
    const r = parse('FROM scratch\nCOPY --chown="app user" --from=a\\ b -- --not-a-flag /dst\n');
    const copy = r.dockerfile.instructions[1];
    expect(r.errors).toEqual([]);
    expect(copy?.flags.map((f) => [f.name, f.value])).toEqual([
      ['chown', 'app user'],
      ['from', 'a b'],
    ]);
    expect(copy?.keyword === 'COPY' && copy.sources.map((s) => s.value)).toEqual(['--not-a-flag']);
  });

  it('isFlagTrue follows BuildKit bool flags', () => {
    const r = parse('FROM scratch\nCOPY --link a b\nCOPY --link=FALSE a b\nCOPY --parents=True a b\n');
    const flags = r.dockerfile.instructions.slice(1).map((i) => i.flags[0]);
    expect(flags.map(isFlagTrue)).toEqual([true, false, true]);
    expect(isFlagTrue(undefined)).toBe(false);
  });

  it('RUN --mount: csv syntax and a variable in from= are checked at parse time, the rest after expansion', () => {
    expect(problem('RUN --mount=type=cache,from=$STAGE,target=/x make')).toEqual([
      "'from' doesn't support variable expansion, define alias stage instead",
      'add a stage `FROM <image> AS alias` and mount from=alias',
    ]);
    // The flag extractor removes quotes; only an escaped one reaches the CSV parser.
    expect(problem('RUN --mount=type=bind,source=a\\"b make')[0]).toBe(
      'failed to parse csv mounts: parse error on line 1, column 19: bare " in non-quoted-field',
    );
    expect(problem('RUN --mount= make')[0]).toBe('failed to parse csv mounts: EOF');
    // Unknown keys may come from variables, so they wait for parseMount.
    expect(problem('RUN --mount=type=$T,bogus=1 make')).toEqual([]);
  });
});

describe('parseMount', () => {
  it('applies BuildKit defaults', () => {
    expect(parseMount('target=/src')).toEqual({ type: 'bind', target: '/src', readonly: true });
    expect(parseMount('type=cache,target=/root/.cache,id=go,sharing=locked,mode=0755,uid=1000,gid=1000')).toEqual({
      type: 'cache',
      target: '/root/.cache',
      id: 'go',
      sharing: 'locked',
      mode: 0o755,
      uid: 1000,
      gid: 1000,
      readonly: false,
    });
    expect(parseMount('type=tmpfs,target=/tmp,size=64m')).toEqual({ type: 'tmpfs', target: '/tmp', size: 64 * 2 ** 20, readonly: false });
    expect(parseMount('type=secret,id=npm,env=NPM_TOKEN,required')).toEqual({ type: 'secret', id: 'npm', env: 'NPM_TOKEN', required: true, readonly: true });
    expect(parseMount('type=ssh,required=true')).toEqual({ type: 'ssh', required: true, readonly: true });
    expect(parseMount('type=bind,src=.,dst=/w,rw')).toEqual({ type: 'bind', source: '.', target: '/w', readonly: false });
    expect(parseMount('TYPE=Cache,Target=/x,ro=true')).toEqual({ type: 'cache', target: '/x', readonly: true });
    expect(parseMount('"type=bind","target=/a,b"')).toEqual({ type: 'bind', target: '/a,b', readonly: true });
  });

  it.each([
    ['type=volume,target=/x', 'unsupported mount type "volume"', 'use one of bind, cache, tmpfs, secret, ssh'],
    ['type=cahce,target=/x', 'unsupported mount type "cahce"', 'did you mean cache?'],
    ['type=cache,sharing=exclusive,target=/x', 'unsupported sharing value "exclusive"', 'use one of shared, private, locked'],
    ['type=cache,traget=/x', "unexpected key 'traget' in 'traget=/x'", 'did you mean target?'],
    ['type=bind,target=/x,mode=0700', 'mode not allowed for "bind" type mounts', undefined],
    ['type=cache,target=/x,mode=999', 'invalid value 999 for mode', 'write the mode in octal, for example mode=0755'],
    ['type=cache,target=/x,uid=-1', 'invalid value -1 for uid', undefined],
    ['type=bind,size=1g,target=/x', "unexpected key 'size' for mount type 'bind'", undefined],
    ['type=tmpfs,target=/x,size=lots', 'invalid value for size: lots', undefined],
    ['type=bind,target=/x,required', "unexpected key 'required' for mount type 'bind'", undefined],
    ['required,type=secret,id=x', "unexpected key 'required' for mount type 'bind'", undefined],
    ['type=secret', 'invalid secret mount. one of source, target required', undefined],
    ['type=secret,id=a,source=b', "both source and id can't be set", undefined],
    ['type=secret,id=a,from=b', 'secret mount should not have a from', undefined],
    ['type=bind,sharing=shared,target=/x', 'invalid cache sharing set for bind mount', undefined],
    ['type=ssh,source=/x', 'ssh does not support source', undefined],
    ['type=bind,target=/x,ro=maybe', 'invalid value for ro: maybe', undefined],
    ['type=cache,target=/x,nonsense', "invalid field 'nonsense' must be a key=value pair", undefined],
    ['type=bind,target=/x,id=foo', "unexpected key 'id' for mount type 'bind'", 'bind mounts accept target, dst, destination, readonly, ro, readwrite, rw, source, src, from'],
    ['type=tmpfs,target=/x,from=foo', "unexpected key 'from' for mount type 'tmpfs'", 'tmpfs mounts accept target, dst, destination, readonly, ro, readwrite, rw, size'],
    ['type=cache,target=/x,env=A', "unexpected key 'env' for mount type 'cache'", expect.stringContaining('cache mounts accept')],
  ])('%s', (value, message, hint) => {
    let err: unknown;
    try {
      parseMount(value);
    } catch (e) {
      err = e;
    }
    expect(isBuildError(err)).toBe(true);
    expect((err as BuildError).code).toBe('TB_PARSE_INVALID_MOUNT');
    expect((err as BuildError).message).toBe(message);
    expect((err as BuildError).hint).toEqual(hint);
  });

  it('locates the error where the caller says', () => {
    const r = parse('FROM scratch\nRUN --mount=type=bind,target=/x,mode=1 true\n');
    const run = r.dockerfile.instructions[1]!;
    const flag = run.keyword === 'RUN' ? run.mounts[0]! : undefined;
    try {
      parseMount(flag!.value!, { file: r.dockerfile.source!, range: flag!.range });
      expect.unreachable();
    } catch (e) {
      expect((e as BuildError).location?.range.start).toEqual({ line: 2, column: 5, offset: 17 });
    }
  });
});

describe('HEALTHCHECK values', () => {
  it.each([
    ['HEALTHCHECK --interval=1x CMD true', 'time: unknown unit "x" in duration "1x"'],
    ['HEALTHCHECK --interval=10 CMD true', 'time: missing unit in duration "10"'],
    ['HEALTHCHECK --timeout=abc CMD true', 'time: invalid duration "abc"'],
    ['HEALTHCHECK --interval=500us CMD true', 'Interval "interval" cannot be less than 1ms'],
    ['HEALTHCHECK --start-period=-1s CMD true', 'Interval "start-period" cannot be less than 1ms'],
    ['HEALTHCHECK --retries=-1 CMD true', '--retries cannot be negative (-1)'],
    ['HEALTHCHECK --retries=two CMD true', 'strconv.ParseInt: parsing "two": invalid syntax'],
    ['HEALTHCHECK --retries=9999999999 CMD true', 'strconv.ParseInt: parsing "9999999999": value out of range'],
    ['HEALTHCHECK --interval CMD true', 'missing a value on flag: --interval'],
    ['HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK CONNECT TCP 7000', 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)'],
    ['HEALTHCHECK NONE extra', 'HEALTHCHECK NONE takes no arguments'],
    ['HEALTHCHECK', 'HEALTHCHECK requires at least one argument'],
  ])('%s', (line, message) => {
    expect(problem(line)[0]).toBe(message);
  });

  it('parses Go durations exactly', () => {
    const cases: [string, bigint][] = [
      ['0', 0n],
      ['1ns', 1n],
      ['1.5h', 5_400_000_000_000n],
      ['1h2m3.5s', 3_723_500_000_000n],
      ['300ms', 300_000_000n],
      ['2µs', 2_000n],
      ['2μs', 2_000n],
      ['.5s', 500_000_000n],
      ['-1.5m', -90_000_000_000n],
      ['+3s', 3_000_000_000n],
      ['2562047h47m16.854775807s', 9_223_372_036_854_775_807n],
    ];
    for (const [s, ns] of cases) expect(parseGoDuration(s), s).toBe(ns);
    for (const bad of ['', '.', 's', '1', '1..5s', '2562047h47m16.854775808s', '1e3s', '- 1s']) {
      expect(() => parseGoDuration(bad), bad).toThrow(/^time: /);
    }
  });
});
