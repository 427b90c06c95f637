import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { extraCaOptions } from '@tbuild/registry';

const MAX_BYTES = 2 * 1024 ** 3;
const MAX_REDIRECTS = 10;
const TIMEOUT_MS = 10 * 60_000;

/**
 * Downloads an ADD URL into `dir` (never extracted, as BuildKit does): redirects only to
 * http(s), a size and time cap, and `--checksum` verified before the file is used.
 */
export async function fetchUrlSource(
  url: string,
  dir: string,
  opts: { checksum?: string; signal?: AbortSignal },
): Promise<{ path: string; name: string; mtime?: Date }> {
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw new BuildError({ code: 'TB_EXEC_ADD_URL', message: `ADD ${url}: redirect to unsupported scheme ${current.protocol}` });
    }
    const res = await get(current, opts.signal);
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current);
      continue;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new BuildError({ code: 'TB_EXEC_ADD_URL', message: `ADD ${url}: ${current.host} answered HTTP ${res.statusCode}` });
    }
    const name = path.posix.basename(current.pathname) || 'index.html';
    const file = path.join(dir, `url-${crypto.randomUUID()}`);
    const hash = crypto.createHash('sha256');
    let size = 0;
    const out = fs.createWriteStream(file, { mode: 0o600 });
    try {
      for await (const chunk of res) {
        size += (chunk as Buffer).length;
        if (size > MAX_BYTES) throw new BuildError({ code: 'TB_EXEC_ADD_URL', message: `ADD ${url}: larger than ${MAX_BYTES} bytes` });
        hash.update(chunk as Buffer);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } finally {
      await new Promise<void>((r) => out.end(() => r()));
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (opts.checksum && opts.checksum !== digest) {
      throw new BuildError({ code: 'TB_EXEC_ADD_CHECKSUM', message: `ADD ${url}: digest mismatch ${digest}: expected ${opts.checksum}` });
    }
    const lm = res.headers['last-modified'];
    return { path: file, name, mtime: lm ? new Date(lm) : undefined };
  }
  throw new BuildError({ code: 'TB_EXEC_ADD_URL', message: `ADD ${url}: too many redirects` });
}

// http/https are loaded on first use: most builds have no ADD of a URL.
async function get(url: URL, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const https = url.protocol === 'https:';
  const mod = https ? (await import('node:https')).default : (await import('node:http')).default;
  const ca = https ? await extraCaOptions() : {};
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { signal, timeout: TIMEOUT_MS, ...ca }, resolve);
    req.on('timeout', () => req.destroy(new BuildError({ code: 'TB_EXEC_ADD_URL', message: `ADD ${url.href}: timed out` })));
    req.on('error', (e) => reject(e instanceof BuildError ? e : new BuildError({ code: 'TB_EXEC_ADD_URL', message: `ADD ${url.href}: ${e.message}` })));
  });
}
