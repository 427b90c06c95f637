import type { BuildEvent } from '@tbuild/executor';
import { formatBytes, formatSeconds, stepTitle } from './format.ts';

/**
 * CI output: one line per event, numbered like BuildKit's plain progress (`#3 [build 2/5] RUN ...`),
 * each output line prefixed with its step number and the seconds since the build started.
 */
export function createPlainRenderer(out: NodeJS.WritableStream): (e: BuildEvent) => void {
  const numbers = new Map<string, number>();
  const partial = new Map<string, string>();
  let start = 0;
  const num = (id: string): number => {
    let n = numbers.get(id);
    if (n === undefined) numbers.set(id, (n = numbers.size + 1));
    return n;
  };
  const stamp = (t: number): string => ((t - start) / 1000).toFixed(3);
  return (e) => {
    switch (e.type) {
      case 'build-start':
        start = e.time;
        return;
      case 'step-start':
        out.write(`#${num(e.step.id)} ${stepTitle(e.step)}\n`);
        return;
      case 'step-cached':
        out.write(`#${num(e.step.id)} ${stepTitle(e.step)}\n#${num(e.step.id)} CACHED\n`);
        return;
      case 'step-log': {
        const text = (partial.get(e.step.id) ?? '') + e.data;
        const lines = text.split('\n');
        partial.set(e.step.id, lines.pop()!);
        for (const l of lines) out.write(`#${num(e.step.id)} ${stamp(e.time)} ${l}\n`);
        return;
      }
      case 'step-done':
      case 'step-failed': {
        const rest = partial.get(e.step.id);
        if (rest) out.write(`#${num(e.step.id)} ${stamp(e.time)} ${rest}\n`);
        partial.delete(e.step.id);
        out.write(e.type === 'step-done' ? `#${num(e.step.id)} DONE ${formatSeconds(e.durationMs)}\n` : `#${num(e.step.id)} ERROR ${e.message}\n`);
        return;
      }
      case 'pull':
        if (e.status !== 'pulling') out.write(`#0 ${e.status === 'resolving' ? 'resolve' : 'pulled'} ${e.ref}\n`);
        return;
      case 'export':
        out.write(`#x ${e.status === 'start' ? 'exporting' : 'exported'} ${e.what}${e.detail ? ` ${e.detail}` : ''}\n`);
        return;
      case 'warning':
        out.write(`WARNING: ${e.message}${e.line ? ` (line ${e.line})` : ''}\n`);
        return;
      case 'build-done': {
        const s = e.summary;
        out.write(
          `${e.ok ? 'done' : 'failed'} in ${formatSeconds(e.durationMs)}: ${s.steps} steps, ${s.cached} cached, ${s.executed} run, ${s.layersWritten} layers written (${formatBytes(s.bytesWritten)})\n`,
        );
        return;
      }
    }
  };
}
