import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registryError } from './errors.ts';

/** A username/password pair for one registry (for token endpoints and Basic auth). */
export interface Credentials {
  username: string;
  password: string;
}

/** Finds credentials for a registry host (`docker.io`, `127.0.0.1:5000`); undefined means anonymous. */
export type CredentialSource = (registry: string) => Promise<Credentials | undefined>;

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Docker Hub's credentials live under its legacy index URL. */
const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

function keyHost(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

/**
 * Reads credentials the way the docker CLI does from `config.json` (default
 * `~/.docker/config.json`): `credHelpers[host]`, then `credsStore`, then `auths` (base64
 * "user:password"). Helpers are `docker-credential-<name>` programs on PATH; a helper that is not
 * installed or has nothing for the host means anonymous access.
 */
export function dockerConfigCredentials(configPath = path.join(os.homedir(), '.docker', 'config.json')): CredentialSource {
  let cached: Promise<DockerConfigFile> | undefined;
  const load = (): Promise<DockerConfigFile> =>
    (cached ??= fs.readFile(configPath, 'utf8').then(
      (t) => {
        try {
          return JSON.parse(t) as DockerConfigFile;
        } catch (e) {
          throw registryError('TB_REGISTRY_CREDENTIALS', `cannot parse ${configPath}: ${(e as Error).message}`);
        }
      },
      () => ({}),
    ));
  return async (registry) => {
    const cfg = await load();
    const hub = registry === 'docker.io';
    const keys = hub ? HUB_KEYS : [registry];
    const helper = keys.map((k) => cfg.credHelpers?.[k]).find(Boolean) ?? cfg.credsStore;
    if (helper) {
      const fromHelper = await runHelper(helper, hub ? HUB_KEYS[0]! : registry);
      if (fromHelper) return fromHelper;
    }
    for (const [k, v] of Object.entries(cfg.auths ?? {})) {
      if (!(hub ? HUB_KEYS.includes(k) || HUB_KEYS.includes(keyHost(k)) : keyHost(k) === registry)) continue;
      if (v.auth) {
        const s = Buffer.from(v.auth, 'base64').toString('utf8');
        const i = s.indexOf(':');
        if (i < 0) throw registryError('TB_REGISTRY_CREDENTIALS', `${configPath}: auths["${k}"].auth is not base64 "user:password"`);
        return { username: s.slice(0, i), password: s.slice(i + 1) };
      }
      if (v.username && v.password) return { username: v.username, password: v.password };
    }
    return undefined;
  };
}

function runHelper(name: string, serverUrl: string): Promise<Credentials | undefined> {
  // The name comes from a config file: keep it a plain program name, never a path.
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    return Promise.reject(registryError('TB_REGISTRY_CREDENTIALS', `invalid credential helper name "${name}"`));
  }
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${name}`, ['get'], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Not installed, or "credentials not found": anonymous, like the docker CLI.
        if (code === 'ENOENT' || /not found/i.test(stdout + stderr)) return resolve(undefined);
        return reject(registryError('TB_REGISTRY_CREDENTIALS', `docker-credential-${name} failed for ${serverUrl}: ${String(stderr || err.message).trim().split('\n')[0]}`));
      }
      try {
        const j = JSON.parse(stdout) as { Username?: string; Secret?: string };
        resolve(j.Username && j.Secret ? { username: j.Username, password: j.Secret } : undefined);
      } catch {
        reject(registryError('TB_REGISTRY_CREDENTIALS', `docker-credential-${name} printed invalid JSON`));
      }
    });
    child.stdin?.end(serverUrl);
  });
}
