import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrameReader, KIND, frame } from '../../bin/server-protocol.js';
import { fullCollect, redacted } from './serve.ts';

describe('server frames', () => {
  it('reassembles frames however the byte stream is cut, binary payloads intact', () => {
    const sent = [
      { kind: KIND.hello, payload: Buffer.from(JSON.stringify({ identity: 'x', argv: ['build', '.'] })) },
      { kind: KIND.stdout, payload: crypto.randomBytes(70_000) },
      { kind: KIND.stderr, payload: Buffer.alloc(0) },
      { kind: KIND.exit, payload: Buffer.from('0') },
    ];
    const bytes = Buffer.concat(sent.map((f) => frame(f.kind, f.payload)));
    for (const cut of [1, 3, 5, 7, 4096, bytes.length]) {
      const reader = new FrameReader();
      const got: Array<{ kind: number; payload: Buffer }> = [];
      for (let i = 0; i < bytes.length; i += cut) got.push(...reader.push(bytes.subarray(i, i + cut)).map((f) => ({ kind: f.kind, payload: Buffer.from(f.payload) })));
      expect(got.map((f) => f.kind)).toEqual(sent.map((f) => f.kind));
      got.forEach((f, i) => expect(f.payload.equals(sent[i]!.payload)).toBe(true));
    }
  });

  it('keeps an incomplete frame until the rest arrives', () => {
    const reader = new FrameReader();
    const f = frame(KIND.signal, 'SIGINT');
    expect(reader.push(f.subarray(0, 4))).toEqual([]);
    expect(reader.push(f.subarray(4, 8))).toEqual([]);
    const [done] = reader.push(f.subarray(8));
    expect(done?.kind).toBe(KIND.signal);
    expect(done?.payload.toString()).toBe('SIGINT');
  });

  it('logs build args without their values', () => {
    expect(redacted(['build', '--build-arg', 'TOKEN=s3cret', '--build-arg=KEY=a=b', '--build-arg', 'FROM_ENV', '-t', 'x=y', '.'])).toEqual([
      'build',
      '--build-arg',
      'TOKEN=***',
      '--build-arg=KEY=***',
      '--build-arg',
      'FROM_ENV',
      '-t',
      'x=y',
      '.',
    ]);
  });
});

describe('server memory', () => {
  it('can run a full collection between builds, without --expose-gc', async () => {
    const make = (): WeakRef<object> => new WeakRef({ big: Buffer.alloc(1 << 20) });
    const ref = make();
    // A WeakRef target stays alive until the job that made it ends.
    await new Promise((r) => setImmediate(r));
    expect(fullCollect()).toBe(true);
    expect(ref.deref()).toBeUndefined();
  });
});
