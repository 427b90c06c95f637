import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerConfigCredentials } from './credentials.ts';

describe('dockerConfigCredentials', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-creds-'));
  const oldPath = process.env.PATH;
  afterAll(() => {
    process.env.PATH = oldPath;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // A real credential helper program, speaking the docker-credential-helpers protocol.
  fs.writeFileSync(
    path.join(dir, 'docker-credential-tbtest'),
    '#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "helped.example:5000" ]; then echo \'{"ServerURL":"x","Username":"helper-user","Secret":"helper-secret"}\'; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n',
    { mode: 0o755 },
  );
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      credHelpers: { 'helped.example:5000': 'tbtest', 'missing.example': 'not-installed-helper' },
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub-user:hub:pass').toString('base64') },
        'https://plain.example:5000/v2/': { auth: Buffer.from('plain:pw').toString('base64') },
        'missing.example': { auth: Buffer.from('fallback:pw').toString('base64') },
      },
    }),
  );

  it('reads auths (base64 user:password, Docker Hub under its legacy key) and runs credential helpers', async () => {
    process.env.PATH = `${dir}:${oldPath}`;
    const creds = dockerConfigCredentials(config);
    expect(await creds('docker.io')).toEqual({ username: 'hub-user', password: 'hub:pass' });
    expect(await creds('plain.example:5000')).toEqual({ username: 'plain', password: 'pw' });
    expect(await creds('helped.example:5000')).toEqual({ username: 'helper-user', password: 'helper-secret' });
    expect(await creds('missing.example')).toEqual({ username: 'fallback', password: 'pw' });
    expect(await creds('unknown.example')).toBeUndefined();
  });

  it('treats a missing config file as anonymous', async () => {
    expect(await dockerConfigCredentials(path.join(dir, 'nope.json'))('docker.io')).toBeUndefined();
  });
});
