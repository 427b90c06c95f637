import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execFileAsync } from '@tbuild/executor';

/**
 * runc commands against one container's runc state dir. The executor's RuncRuntime runs the
 * process (one `runc run` per start, with its own fresh runc id) under `<runtimeDir>/runc`;
 * everything else a container needs from the runtime (state, signals, pause, update, events,
 * exec) goes through the same runc root, found by the layout RuncRuntime documents.
 */
export class RuncControl {
  readonly root: string;

  constructor(
    readonly runtimeDir: string,
    readonly runc = 'runc',
  ) {
    this.root = path.join(runtimeDir, 'runc');
  }

  /** The id of the runc container RuncRuntime set up (its bundle dir), if any. */
  currentId(): string | undefined {
    try {
      return fs.readdirSync(path.join(this.runtimeDir, 'bundles')).find((n) => n.startsWith('tb-'));
    } catch {
      return undefined;
    }
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      const { stdout } = await execFileAsync(this.runc, ['--root', this.root, 'state', id], { timeout: 10_000 });
      const s = JSON.parse(stdout) as { status: string; pid: number };
      return { status: s.status, pid: s.pid };
    } catch {
      return undefined;
    }
  }

  async list(): Promise<{ id: string; status: string; pid: number }[]> {
    try {
      const { stdout } = await execFileAsync(this.runc, ['--root', this.root, 'list', '--format', 'json'], { timeout: 10_000 });
      return (JSON.parse(stdout || 'null') as { id: string; status: string; pid: number }[] | null) ?? [];
    } catch {
      return [];
    }
  }

  async kill(id: string, signal: string): Promise<void> {
    await execFileAsync(this.runc, ['--root', this.root, 'kill', id, signal.replace(/^SIG/, '')], { timeout: 10_000 });
  }

  async pause(id: string): Promise<void> {
    await execFileAsync(this.runc, ['--root', this.root, 'pause', id], { timeout: 10_000 });
  }

  async resume(id: string): Promise<void> {
    await execFileAsync(this.runc, ['--root', this.root, 'resume', id], { timeout: 10_000 });
  }

  async update(id: string, args: string[]): Promise<void> {
    await execFileAsync(this.runc, ['--root', this.root, 'update', ...args, id], { timeout: 10_000 });
  }

  async delete(id: string): Promise<void> {
    await execFileAsync(this.runc, ['--root', this.root, 'delete', '--force', id], { timeout: 10_000 }).catch(() => undefined);
  }

  /** `runc events`: calls `onOom` for each OOM notification until the returned child is killed or the container goes. */
  events(id: string, onOom: () => void): ChildProcess {
    const child = spawn(this.runc, ['--root', this.root, 'events', id], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          if ((JSON.parse(line) as { type?: string }).type === 'oom') onOom();
        } catch {
          /* not an event line */
        }
      }
    });
    child.on('error', () => undefined);
    return child;
  }

  execArgs(id: string, o: { args: string[]; env: string[]; cwd: string; uid: number; gid: number; additionalGids: number[] }): string[] {
    const groups = o.additionalGids.flatMap((g) => ['--additional-gids', String(g)]);
    return ['--root', this.root, 'exec', '--cwd', o.cwd, '--user', `${o.uid}:${o.gid}`, ...groups, ...o.env.flatMap((e) => ['--env', e]), id, ...o.args];
  }
}
