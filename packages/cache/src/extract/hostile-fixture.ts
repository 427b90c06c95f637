import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { BuildError } from '@tbuild/errors';
import { extractTar } from './extract-tar.ts';
import type { ExtractOptions, ExtractStats } from './options.ts';

/**
 * A sandbox for hostile-archive tests: `work/canary` and `work/hostdir/` stand for the host,
 * `work/x/y/z/dest` is the extraction root, four levels down so `../../../../canary` from the
 * root names the canary exactly.
 */
export class HostileFixture {
  readonly work = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-hostile-'));
  readonly canary = path.join(this.work, 'canary');
  readonly hostDir = path.join(this.work, 'hostdir');
  readonly dest = path.join(this.work, 'x/y/z/dest');
  private readonly before: string;

  constructor() {
    fs.writeFileSync(this.canary, 'canary\n', { mode: 0o644 });
    fs.utimesSync(this.canary, 1_000_000_000, 1_000_000_000);
    fs.mkdirSync(this.hostDir);
    fs.mkdirSync(this.dest, { recursive: true });
    this.before = this.hostState();
  }

  /** Everything outside dest: names, types, modes, sizes, mtimes, link counts, canary content. */
  hostState(): string {
    const lines: string[] = [];
    const walk = (d: string): void => {
      for (const name of fs.readdirSync(d).sort()) {
        const p = path.join(d, name);
        if (p === this.dest) continue;
        const st = fs.lstatSync(p);
        lines.push(`${path.relative(this.work, p)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.nlink}`);
        if (st.isDirectory()) walk(p);
      }
    };
    walk(this.work);
    lines.push(fs.readFileSync(this.canary, 'utf8'));
    return lines.join('\n');
  }

  expectHostUntouched(): void {
    expect(this.hostState()).toBe(this.before);
  }

  extract(tar: Buffer, opts: ExtractOptions = {}, dest = this.dest): Promise<ExtractStats> {
    return extractTar(Readable.from([tar]), dest, { format: 'plain', ...opts });
  }

  /** The archive must be refused with a BuildError of `code`, and the host left alone. */
  async expectRejected(tar: Buffer, code: string, opts: ExtractOptions = {}): Promise<BuildError> {
    const err = await this.extract(tar, opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).code).toBe(code);
    this.expectHostUntouched();
    return err as BuildError;
  }

  inDest(...p: string[]): string {
    return path.join(this.dest, ...p);
  }

  cleanup(): void {
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/** Reads an xattr without following symlinks (test-only; the store never reads xattrs). */
export function getXattr(p: string, name: string): Buffer | undefined {
  try {
    return execFileSync('/usr/bin/python3', ['-c', 'import os,sys;sys.stdout.buffer.write(os.getxattr(sys.argv[1],sys.argv[2],follow_symlinks=False))', p, name], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}
