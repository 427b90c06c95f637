import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';

/**
 * How `tbuild run -i/-t` reaches a process whose stdin belongs to its supervisor: a unix socket
 * in the container's dir (0700, so only its owner can type into the container; an abstract
 * socket would be open to every local user). Not a FIFO: opening one blocks a libuv thread
 * until the other side opens, and EOF never arrives while any writer is left.
 *
 * Each connection starts with one byte: `i` — the rest is the process's stdin, and the
 * connection's end (or loss: the CLI was killed) is its EOF, as docker's StdinOnce; only the
 * first such client is taken. `w` — "ROWS COLS\n" lines resize the process's terminal.
 */
export const ATTACH_SOCKET = 'attach.sock';

/**
 * The socket's path through /proc/self/fd, so it stays under the 108-byte limit of unix socket
 * paths however deep the store is. The returned close releases the directory fd.
 */
function shortPath(dir: string): { path: string; close: () => void } {
  const fd = fs.openSync(dir, 'r');
  return { path: `/proc/self/fd/${fd}/${ATTACH_SOCKET}`, close: () => fs.closeSync(fd) };
}

export interface AttachServer {
  /** The process's stdin: what the first `i` client sends, ended when it goes. */
  stdin: PassThrough;
  /** Set by the runtime once a terminal exists. */
  resize?: (rows: number, cols: number) => void;
  close(): void;
}

/**
 * Listens in `dir` (the container's dir) before the process starts; see ATTACH_SOCKET.
 * `abandoned` is polled until the first `i` client comes: once it holds, no client will come
 * (the attached CLI died before it connected), and stdin ends as if that client had gone.
 */
export async function serveAttach(dir: string, abandoned?: () => boolean): Promise<AttachServer> {
  fs.rmSync(path.join(dir, ATTACH_SOCKET), { force: true });
  const sp = shortPath(dir);
  const stdin = new PassThrough();
  let taken = false;
  const sockets = new Set<net.Socket>();
  const watch = abandoned
    ? setInterval(() => {
        if (taken) return clearInterval(watch);
        if (abandoned()) {
          clearInterval(watch);
          stdin.end();
        }
      }, 100).unref()
    : undefined;
  const out: AttachServer = {
    stdin,
    close: () => {
      clearInterval(watch);
      server.close();
      for (const s of sockets) s.destroy();
      stdin.end();
      fs.rmSync(path.join(dir, ATTACH_SOCKET), { force: true });
    },
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.once('close', () => sockets.delete(sock));
    sock.once('readable', function first() {
      const kind = sock.read(1) as Buffer | null;
      if (!kind) return void sock.once('readable', first);
      if (kind.toString() === 'i' && !taken && !stdin.writableEnded) {
        taken = true;
        sock.pipe(stdin, { end: false });
        sock.once('close', () => stdin.end());
      } else if (kind.toString() === 'w') {
        let buf = '';
        sock.on('data', (d: Buffer) => {
          buf += d.toString();
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const [rows, cols] = buf.slice(0, nl).split(' ').map(Number);
            buf = buf.slice(nl + 1);
            if (rows! > 0 && cols! > 0) out.resize?.(rows!, cols!);
          }
        });
      } else {
        sock.destroy();
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sp.path, resolve);
    });
  } finally {
    sp.close();
  }
  fs.chmodSync(path.join(dir, ATTACH_SOCKET), 0o600);
  server.unref(); // never what keeps the supervisor alive
  return out;
}

/**
 * Connects to a container's attach socket as `kind`, retrying while `waiting()` holds (the
 * supervisor listens before the process starts, but may not yet have when `start` returns an
 * older state). Resolves undefined when the container is gone before a connection was made.
 */
export async function connectAttach(dir: string, kind: 'i' | 'w', waiting: () => boolean): Promise<net.Socket | undefined> {
  for (;;) {
    const sp = shortPath(dir);
    try {
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(sp.path, () => resolve(s));
        s.once('error', reject);
      });
      sock.on('error', () => undefined);
      sock.write(kind);
      return sock;
    } catch {
      if (!waiting()) return undefined;
    } finally {
      sp.close();
    }
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
