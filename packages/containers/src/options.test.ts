import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/root.ts';
import { applyChanges } from './commit-changes.ts';
import { followLog, LogWriter, readLogSnapshot, tailRecords, type LogRecord } from './log-file.ts';
import { resolveContainerConfig } from './run-config.ts';
import { normalizeSignal, parseBytes, parseCpus, parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from './run-options.ts';
import { formatBinding, parsePublish } from './ports.ts';

describe('resolveContainerConfig (docker override rules)', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/bin', 'A=1'], WorkingDir: '/app', User: 'app' };
  it.each([
    [{}, '/entry', ['serve', '--port', '80']],
    [{ command: ['debug'] }, '/entry', ['debug']],
    [{ entrypoint: 'sh' }, 'sh', []],
    [{ entrypoint: 'sh', command: ['-c', 'x'] }, 'sh', ['-c', 'x']],
    [{ entrypoint: '', command: ['ls'] }, 'ls', []],
  ])('%j → %s %j', (o, p, args) => {
    const r = resolveContainerConfig(image, o);
    expect([r.path, r.args]).toEqual([p, args]);
  });

  it('replaces env by name, copies bare names from the host, overrides workdir and user', () => {
    const r = resolveContainerConfig(image, { env: ['A=2', 'B=3', 'HOSTVAR', 'MISSING'], hostEnv: { HOSTVAR: 'h' }, workdir: '/w', user: '0' });
    expect(r.config.Env).toEqual(['PATH=/bin', 'A=2', 'B=3', 'HOSTVAR=h']);
    expect([r.config.WorkingDir, r.config.User]).toEqual(['/w', '0']);
  });

  it('an image without a command and no arguments is TB_CONTAINER_NO_COMMAND', () => {
    expect(() => resolveContainerConfig({}, {})).toThrow(expect.objectContaining({ code: 'TB_CONTAINER_NO_COMMAND' }));
    expect(() => resolveContainerConfig(image, { entrypoint: '' })).toThrow(expect.objectContaining({ code: 'TB_CONTAINER_NO_COMMAND' }));
  });
});

describe('-p (parsePublish)', () => {
  it.each([
    ['80', '0.0.0.0:0->80/tcp'],
    ['8080:80', '0.0.0.0:8080->80/tcp'],
    ['8080:80/tcp', '0.0.0.0:8080->80/tcp'],
    ['127.0.0.1:8080:80', '127.0.0.1:8080->80/tcp'],
    ['127.0.0.1::80', '127.0.0.1:0->80/tcp'],
    ['[::1]:8080:80', '[::1]:8080->80/tcp'],
  ])('reads %s as docker does', (spec, shown) => {
    expect(formatBinding(parsePublish(spec))).toBe(shown);
  });

  it.each(['', 'abc', '80:0', '70000', '1:2:3:4', 'host:80:80', '80/sctp', '80/udp', '80/xyz'])('refuses %s', (spec) => {
    expect(() => parsePublish(spec)).toThrow(/-p|publishing/);
  });
});

describe('run option parsers', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['100k', 102400],
    ['4096', 4096],
  ])('parseBytes(%s) = %d', (s, n) => expect(parseBytes(s)).toBe(n));

  it.each(['', 'lots', '-1m', '12q'])('parseBytes(%j) is refused', (s) => expect(() => parseBytes(s)).toThrow(expect.objectContaining({ code: 'TB_CONTAINER_OPTION_INVALID' })));

  it('parses --cpus and signals', () => {
    expect(parseCpus('1.5')).toBe(1_500_000_000);
    expect(() => parseCpus('0')).toThrow();
    expect(normalizeSignal('term')).toBe('SIGTERM');
    expect(normalizeSignal('SIGUSR1')).toBe('SIGUSR1');
    expect(normalizeSignal('9')).toBe('9');
    expect(() => normalizeSignal('SIGNOPE')).toThrow(expect.objectContaining({ code: 'TB_CONTAINER_OPTION_INVALID' }));
  });

  it('parses -v in its three forms', () => {
    expect(parseVolumeFlag('/data', '/cwd')).toEqual({ type: 'volume', target: '/data', readonly: false });
    expect(parseVolumeFlag('cache:/var/cache:ro', '/cwd')).toEqual({ type: 'volume', name: 'cache', target: '/var/cache', readonly: true });
    expect(parseVolumeFlag('./src:/src', '/cwd')).toEqual({ type: 'bind', source: '/cwd/src', target: '/src', readonly: false });
    expect(() => parseVolumeFlag('a:relative', '/cwd')).toThrow(/not absolute/);
    expect(() => parseVolumeFlag('/h:/', '/cwd')).toThrow(/root/);
    expect(() => parseVolumeFlag('bad name:/x', '/cwd')).toThrow(expect.objectContaining({ code: 'TB_CONTAINER_NAME_INVALID' }));
  });

  it('parses --mount and --tmpfs', () => {
    expect(parseMountFlag('type=bind,src=/h,dst=/c,readonly', '/')).toEqual({ type: 'bind', source: '/h', target: '/c', readonly: true });
    expect(parseMountFlag('type=volume,source=vol,target=/v', '/')).toEqual({ type: 'volume', name: 'vol', target: '/v', readonly: false });
    expect(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=700', '/')).toEqual({ type: 'tmpfs', target: '/t', sizeBytes: 1024 ** 2, mode: 0o700 });
    expect(parseTmpfsFlag('/run:size=64m')).toEqual({ type: 'tmpfs', target: '/run', sizeBytes: 64 * 1024 ** 2 });
    expect(() => parseMountFlag('type=npipe,target=/x', '/')).toThrow(/unknown type/);
    expect(() => parseMountFlag('type=bind,target=/x', '/')).toThrow(/source/);
  });
});

describe('commit -c changes', () => {
  it('applies the allowed instructions in Dockerfile forms', () => {
    const out = applyChanges({ Env: ['A=1'], WorkingDir: '/app' }, [
      'CMD ["serve", "--fast"]',
      'ENTRYPOINT /bin/tini --',
      'ENV A=2 B="two words"',
      'ENV LEGACY some value',
      'LABEL org.x=y',
      'EXPOSE 80 53/udp',
      'USER app',
      'WORKDIR sub',
      'VOLUME /data',
      'STOPSIGNAL SIGQUIT',
    ]);
    expect(out).toMatchObject({
      Cmd: ['serve', '--fast'],
      Entrypoint: ['/bin/sh', '-c', '/bin/tini --'],
      Env: ['A=2', 'B=two words', 'LEGACY=some value'],
      Labels: { 'org.x': 'y' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      User: 'app',
      WorkingDir: '/app/sub',
      Volumes: { '/data': {} },
      StopSignal: 'SIGQUIT',
    });
  });

  it.each(['RUN echo hi', 'FROM x', 'ENV', 'EXPOSE eighty', 'ENV A="open'])('refuses %j', (c) => {
    expect(() => applyChanges({}, [c])).toThrow(expect.objectContaining({ code: 'TB_CONTAINER_COMMIT_INVALID' }));
  });
});

describe('container log files', () => {
  it('rotates by size, keeps maxFiles, and reads back in order across files', () => {
    const t = tempDir();
    try {
      const file = path.join(t.dir, 'container.log');
      const w = new LogWriter(file, { maxBytes: 300, maxFiles: 3 });
      for (let i = 0; i < 40; i++) w.write(i % 2 ? 'stderr' : 'stdout', Buffer.from(`line ${i}\n`));
      w.write('stdout', Buffer.from('a\nb'));
      w.close();
      expect(fs.readdirSync(t.dir).sort()).toEqual(['container.log', 'container.log.1', 'container.log.2']);
      for (const f of fs.readdirSync(t.dir)) expect(fs.statSync(path.join(t.dir, f)).size).toBeLessThanOrEqual(300);
      const { records } = readLogSnapshot(file);
      const logs = records.map((r) => r.log);
      // Oldest lines rotated away; the rest contiguous and in order, ending with the partial line.
      expect(logs.at(-1)).toBe('b');
      expect(logs.at(-2)).toBe('a\n');
      const nums = logs.slice(0, -2).map((l) => Number(/line (\d+)/.exec(l)![1]));
      expect(nums).toEqual(nums.map((_, i) => nums[0]! + i));
      expect(nums.at(-1)).toBe(39);
      expect(tailRecords(records, 3).map((r) => r.log)).toEqual(['line 39\n', 'a\n', 'b']);
    } finally {
      t.cleanup();
    }
  });

  it('a follower sees records written after it started, across a rotation', async () => {
    const t = tempDir();
    try {
      const file = path.join(t.dir, 'container.log');
      const w = new LogWriter(file, { maxBytes: 200, maxFiles: 2 });
      const seen: LogRecord[] = [];
      let done = false;
      const following = followLog(file, 0, { onRecord: (r) => seen.push(r), done: () => done, pollMs: 5 });
      for (let i = 0; i < 6; i++) {
        w.write('stdout', Buffer.from(`n${i}\n`));
        await new Promise((r) => setTimeout(r, 15));
      }
      w.close();
      done = true;
      await following;
      expect(seen.map((r) => r.log).join('')).toBe('n0\nn1\nn2\nn3\nn4\nn5\n');
    } finally {
      t.cleanup();
    }
  });
});
