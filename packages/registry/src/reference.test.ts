import { describe, expect, it } from 'vitest';
import { familiarRef, normalizeRef, parseRef } from './reference.ts';

const D = 'sha256:' + 'a'.repeat(64);

describe('normalizeRef', () => {
  it.for([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app:v1', 'docker.io/user/app:v1'],
    ['index.docker.io/user/app', 'docker.io/user/app:latest'],
    ['127.0.0.1:5000/a/b:1', '127.0.0.1:5000/a/b:1'],
    ['localhost/app', 'localhost/app:latest'],
    ['ghcr.io/o/r/deep/name:tag', 'ghcr.io/o/r/deep/name:tag'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    ['[::1]:5000/x', '[::1]:5000/x:latest'],
  ])('%s -> %s', ([input, want]) => {
    expect(normalizeRef(input!)).toBe(want);
  });

  it.for(['', 'Busybox', 'a//b', 'busybox:', 'busybox@sha256:abc', 'a:b:c', ':tag', 'repo:-bad', 'a/../b'])('rejects %j', (bad) => {
    expect(() => parseRef(bad)).toThrow(expect.objectContaining({ code: 'TB_REGISTRY_INVALID_REF' }));
  });

  it('keeps the registry port apart from the tag', () => {
    expect(parseRef('127.0.0.1:5000/app')).toEqual({ registry: '127.0.0.1:5000', repository: 'app', tag: 'latest' });
  });

  it('gives Docker short names back', () => {
    expect(familiarRef(parseRef('busybox'))).toBe('busybox:latest');
    expect(familiarRef(parseRef('127.0.0.1:5000/a/b:1'))).toBe('127.0.0.1:5000/a/b:1');
  });
});
