import type { BuildEvent, StepRef } from '@tbuild/executor';
import { formatBytes, formatSeconds, stepTitle } from './format.ts';

interface Running {
  step: StepRef;
  started: number;
  tail: string[];
  partial: string;
}

const TAIL_LINES = 3;

/**
 * The live terminal view: finished steps scroll up as permanent lines (`CACHED` or their time),
 * below them one line per running step with its elapsed time and the tail of its output,
 * redrawn in place at most ten times a second.
 */
export function createTtyRenderer(out: NodeJS.WritableStream & { columns?: number }): (e: BuildEvent) => void {
  const running = new Map<string, Running>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const width = (): number => Math.max(40, (out.columns || 100) - 1);
  // Clips to the terminal width by visible characters: colour codes take no columns.
  const clip = (s: string): string => {
    let visible = 0;
    let i = 0;
    while (i < s.length) {
      const esc = /^\x1b\[[0-9;]*[A-Za-z]/.exec(s.slice(i));
      if (esc) {
        i += esc[0].length;
        continue;
      }
      if (++visible > width() - 1) return s.slice(0, i) + '…\x1b[0m';
      i++;
    }
    return s;
  };

  const clear = (): void => {
    if (drawn > 0) out.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  const draw = (): void => {
    clear();
    const now = Date.now();
    const lines: string[] = [];
    for (const r of running.values()) {
      lines.push(clip(`\x1b[36m=>\x1b[0m ${stepTitle(r.step)}  ${formatSeconds(now - r.started)}`));
      for (const t of r.tail) lines.push(clip(`\x1b[2m   ${t}\x1b[0m`));
    }
    if (lines.length) out.write(lines.join('\n') + '\n');
    drawn = lines.length;
  };
  const schedule = (): void => {
    if (!timer) {
      timer = setInterval(draw, 100);
      timer.unref();
    }
  };
  const permanent = (line: string): void => {
    clear();
    out.write(clip(line) + '\n');
    draw();
  };

  return (e) => {
    switch (e.type) {
      case 'step-start':
        running.set(e.step.id, { step: e.step, started: e.time, tail: [], partial: '' });
        schedule();
        draw();
        return;
      case 'step-log': {
        const r = running.get(e.step.id);
        if (!r) return;
        const lines = (r.partial + e.data).split('\n');
        r.partial = lines.pop()!;
        r.tail.push(...lines.map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')));
        r.tail.splice(0, Math.max(0, r.tail.length - TAIL_LINES));
        return;
      }
      case 'step-cached':
        permanent(`\x1b[34m=> CACHED\x1b[0m ${stepTitle(e.step)}`);
        return;
      case 'step-done':
        running.delete(e.step.id);
        permanent(`\x1b[34m=>\x1b[0m ${stepTitle(e.step)}  ${formatSeconds(e.durationMs)}`);
        return;
      case 'step-failed': {
        const r = running.get(e.step.id);
        running.delete(e.step.id);
        permanent(`\x1b[31m=> ERROR\x1b[0m ${stepTitle(e.step)}  ${formatSeconds(e.durationMs)}`);
        for (const t of r?.tail ?? []) permanent(`\x1b[31m   ${t}\x1b[0m`);
        return;
      }
      case 'pull':
        if (e.status === 'done') permanent(`=> pulled ${e.ref}`);
        return;
      case 'export':
        if (e.status === 'done') permanent(`=> exported ${e.what}${e.detail ? ` ${e.detail}` : ''}`);
        return;
      case 'warning':
        permanent(`\x1b[33mWARNING:\x1b[0m ${e.message}${e.line ? ` (line ${e.line})` : ''}`);
        return;
      case 'build-done': {
        if (timer) clearInterval(timer);
        timer = undefined;
        clear();
        const s = e.summary;
        out.write(
          `${e.ok ? '\x1b[32mdone\x1b[0m' : '\x1b[31mfailed\x1b[0m'} in ${formatSeconds(e.durationMs)}: ${s.steps} steps, ${s.cached} cached, ${s.executed} run, ${s.layersWritten} layers written (${formatBytes(s.bytesWritten)})\n`,
        );
        return;
      }
      default:
        return;
    }
  };
}
