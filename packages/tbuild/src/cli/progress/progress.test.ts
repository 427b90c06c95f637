import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BuildEvent, StepRef } from '@tbuild/executor';
import { createPlainRenderer } from './plain.ts';
import { createTtyRenderer } from './tty.ts';

const step = (id: string, text: string): StepRef => ({ id, stage: 'build', index: Number(id), total: 2, line: Number(id) + 1, text });
const summary = { steps: 2, cached: 1, executed: 1, layersWritten: 1, bytesWritten: 2048 };
const EVENTS: BuildEvent[] = [
  { type: 'build-start', time: 1000, steps: 2 },
  { type: 'step-cached', time: 1001, step: step('1', 'COPY . /src') },
  { type: 'step-start', time: 1002, step: step('2', 'RUN make') },
  { type: 'step-log', time: 1500, step: step('2', 'RUN make'), stream: 'stdout', data: 'compiling\nlinking' },
  { type: 'step-log', time: 1600, step: step('2', 'RUN make'), stream: 'stderr', data: '...\n' },
  { type: 'step-done', time: 2300, step: step('2', 'RUN make'), durationMs: 1298, layer: { digest: 'sha256:x', size: 2048 } },
  { type: 'build-done', time: 2400, durationMs: 1400, ok: true, summary },
];

function collect(make: (s: PassThrough) => (e: BuildEvent) => void): string {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d) => (text += d));
  const render = make(s);
  for (const e of EVENTS) render(e);
  return text;
}

describe('plain progress', () => {
  it('numbers steps, stamps output lines with seconds since start, and sums up', () => {
    expect(collect(createPlainRenderer)).toBe(
      [
        '#1 [build 1/2] COPY . /src',
        '#1 CACHED',
        '#2 [build 2/2] RUN make',
        '#2 0.500 compiling',
        '#2 0.600 linking...',
        '#2 DONE 1.3s',
        'done in 1.4s: 2 steps, 1 cached, 1 run, 1 layers written (2.05kB)',
        '',
      ].join('\n'),
    );
  });
});

describe('tty progress', () => {
  it('ends with every step as a permanent line and the summary, the live region cleared', () => {
    const raw = collect((s) => createTtyRenderer(Object.assign(s, { columns: 80 })));
    // Replay the cursor movements: each "up N lines, clear below" drops the live region.
    const lines: string[] = [];
    for (const chunk of raw.split(/(\x1b\[\d+F\x1b\[J)/)) {
      const up = /^\x1b\[(\d+)F\x1b\[J$/.exec(chunk);
      if (up) lines.splice(lines.length - Number(up[1]));
      else lines.push(...chunk.split('\n').filter((l, i, a) => i < a.length - 1 || l !== ''));
    }
    const plain = lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(plain).toEqual(['=> CACHED [build 1/2] COPY . /src', '=> [build 2/2] RUN make  1.3s', 'done in 1.4s: 2 steps, 1 cached, 1 run, 1 layers written (2.05kB)']);
  });
});
