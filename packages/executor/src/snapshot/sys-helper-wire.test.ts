import { describe, expect, it } from 'vitest';
import { encodeRequest, parseLine } from './sys-helper-wire.ts';

describe('the sys helper protocol', () => {
  it('frames a request as its length, then NUL-terminated fields that may hold spaces and newlines', () => {
    const b = encodeRequest(7, { op: 'mount', source: 'overlay', target: '/m nt\nx', fstype: 'overlay', data: 'lowerdir=a:b' })!;
    expect(b.readUInt32LE(0)).toBe(b.length - 4);
    expect(b.subarray(4).toString().split('\0')).toEqual(['7', 'mount', 'overlay', '/m nt\nx', 'overlay', 'lowerdir=a:b', '', '']);
    expect(encodeRequest(1, { op: 'mtimes', items: [['/a', '1'], ['/b', '2']] })!.subarray(4).toString()).toBe('1\0mtimes\0/a\x001\0/b\x002\0');
    expect(encodeRequest(2, { op: 'umount', target: '/m', detach: true })!.subarray(4).toString()).toBe('2\0umount\0/m\x001\0');
    // A spawn's environment entries are counted, so an argument may look like one.
    expect(encodeRequest(3, { op: 'spawn', argv: ['env', 'A=1'], env: ['B=2'] })!.subarray(4).toString()).toBe('3\0spawn\x001\0B=2\0env\0A=1\0');
    expect(encodeRequest(4, { op: 'spawn', argv: ['true'] })!.subarray(4).toString()).toBe('4\0spawn\x000\0true\0');
    const copy = encodeRequest(5, { op: 'copy', max: 65536, keep: true, jobs: [{ src: '/s 1', dest: '/d 1', mode: 0o644, uid: -1, gid: 7 }] })!;
    expect(copy.subarray(4).toString()).toBe('5\0copy\x0065536\x001\0/s 1\0/d 1\x00420\0-1\x007\0');
  });

  it('refuses a field holding a NUL, which would split it', () => {
    expect(encodeRequest(1, { op: 'spawn', argv: ['sh', '-c', 'a\0b'] })).toBeUndefined();
  });

  it("reads the helper's lines: ready, answers with an errno's message, a spawn's pipes, a copy's files, exits", () => {
    expect(parseLine('ready 5')).toEqual({ kind: 'ready', probeFd: 5 });
    expect(parseLine('3 ok')).toEqual({ kind: 'reply', id: 3, ok: true });
    expect(parseLine('4 ok 1234 6 7')).toEqual({ kind: 'reply', id: 4, ok: true, pid: 1234, stdout: 6, stderr: 7 });
    expect(parseLine('5 err ENOENT No such file or directory')).toEqual({ kind: 'reply', id: 5, ok: false, errno: 'ENOENT', message: 'No such file or directory' });
    expect(parseLine('exit 1234 code 3')).toEqual({ kind: 'exit', pid: 1234, code: 3 });
    expect(parseLine('exit 1234 signal 9')).toEqual({ kind: 'exit', pid: 1234, signal: 9 });
    expect(parseLine('6 copied 12,0,0,1000123 - ! 3,1,2,5,2049,77')).toEqual({ kind: 'reply', id: 6, ok: true, items: ['12,0,0,1000123', '-', '!', '3,1,2,5,2049,77'] });
    expect(parseLine('gibberish')).toBeUndefined();
  });
});
