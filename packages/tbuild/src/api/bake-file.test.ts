import { describe, expect, it } from 'vitest';
import { resolveBakeFile } from './bake-file.ts';

const FILE = JSON.stringify({
  group: { default: { targets: ['api', 'web'] }, all: { targets: ['default', 'worker'] } },
  target: {
    base: { context: 'services', args: { NODE: '20', DEBUG: '1' }, labels: { team: 'core' } },
    api: { inherits: ['base'], dockerfile: 'api/Dockerfile', tags: ['api:dev'], args: { DEBUG: null } },
    web: { inherits: ['base'], context: 'web', tags: ['web:dev'], target: 'prod' },
    worker: { inherits: ['api'], tags: ['worker:dev'], args: { QUEUE: 'jobs' } },
  },
});

describe('resolveBakeFile', () => {
  it('builds the default group with inherited fields, a null arg unsetting the parent one', () => {
    const ts = resolveBakeFile(FILE, 'docker-bake.json', []);
    expect(ts.map((t) => t.name)).toEqual(['api', 'web']);
    expect(ts[0]).toMatchObject({ context: 'services', dockerfile: 'api/Dockerfile', args: { NODE: '20' }, labels: { team: 'core' }, tags: ['api:dev'] });
    expect(ts[0]!.args.DEBUG).toBeUndefined();
    expect(ts[1]).toMatchObject({ context: 'web', target: 'prod', args: { NODE: '20', DEBUG: '1' } });
  });

  it('expands nested groups once each and chains inherits', () => {
    const ts = resolveBakeFile(FILE, 'docker-bake.json', ['all', 'api']);
    expect(ts.map((t) => t.name)).toEqual(['api', 'web', 'worker']);
    expect(ts[2]).toMatchObject({ dockerfile: 'api/Dockerfile', args: { NODE: '20', QUEUE: 'jobs' }, tags: ['worker:dev'] });
  });

  it('names an unknown target with a suggestion', () => {
    expect(() => resolveBakeFile(FILE, 'docker-bake.json', ['wrker'])).toThrow(/no target or group named "wrker"/);
    try {
      resolveBakeFile(FILE, 'docker-bake.json', ['wrker']);
    } catch (e) {
      expect((e as { hint?: string }).hint).toBe('did you mean "worker"?');
    }
  });

  it('merges extra-hosts from inherited targets key by key, null removing one', () => {
    const f = JSON.stringify({ target: { base: { 'extra-hosts': { a: '10.0.0.1', b: '10.0.0.2' } }, app: { inherits: ['base'], 'extra-hosts': { b: null, c: 'host-gateway' } } } });
    expect(resolveBakeFile(f, 'f.json', ['app'])[0]!.extraHosts).toEqual({ a: '10.0.0.1', c: 'host-gateway' });
    expect(resolveBakeFile(f, 'f.json', ['base'])[0]!.extraHosts).toEqual({ a: '10.0.0.1', b: '10.0.0.2' });
  });

  it('passes cache-from and cache-to through, inherited like any field', () => {
    const f = JSON.stringify({ target: { ci: { 'cache-from': ['reg:5000/app:cache'], 'cache-to': ['type=registry,ref=reg:5000/app:cache,mode=max'] }, app: { inherits: ['ci'] } } });
    expect(resolveBakeFile(f, 'f.json', ['app'])[0]).toMatchObject({ cacheFrom: ['reg:5000/app:cache'], cacheTo: ['type=registry,ref=reg:5000/app:cache,mode=max'] });
    expect(resolveBakeFile(FILE, 'f.json', ['api'])[0]).toMatchObject({ cacheFrom: [], cacheTo: [] });
  });

  it('rejects inherits cycles and invalid JSON', () => {
    const cyc = JSON.stringify({ target: { a: { inherits: ['b'] }, b: { inherits: ['a'] } } });
    expect(() => resolveBakeFile(cyc, 'f.json', ['a'])).toThrow(/inherits cycle: a -> b -> a/);
    expect(() => resolveBakeFile('{', 'f.json', [])).toThrow(/f.json: not valid JSON/);
  });
});
