// Hot-path micro benchmarks: parse throughput, context hashing of the 20,000-file tree (cold
// and with a warm stat cache), layer tar+gzip throughput and layer unpack throughput. Each
// returns numbers plus a one-line summary for the terminal.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPTS = ['parse', 'context-hash', 'layer'];

/** Runs each micro benchmark in its own node process (a clean heap each) and collects JSON. */
export async function runMicro({ work, quick }) {
  const out = {};
  for (const s of SCRIPTS) {
    const json = await new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [path.join(here, `${s}.mjs`), work, quick ? 'quick' : 'full'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buf = '';
      c.stdout.on('data', (d) => (buf += d));
      c.on('close', (code) => (code === 0 ? resolve(buf) : reject(new Error(`micro benchmark ${s} exited ${code}`))));
    });
    Object.assign(out, JSON.parse(json));
  }
  return out;
}
