import type { BuildEvent } from '@tbuild/executor';

interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'i';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

/**
 * Collects a build's events into Chrome trace format (open in Perfetto or chrome://tracing):
 * one row per stage, one slice per step, cached steps as instant markers.
 */
export function createTraceRecorder(): { sink: (e: BuildEvent) => void; toJSON: () => string } {
  const events: TraceEvent[] = [];
  const tids = new Map<string, number>();
  const starts = new Map<string, number>();
  let origin: number | undefined;
  const tid = (stage: string): number => {
    let t = tids.get(stage);
    if (t === undefined) tids.set(stage, (t = tids.size + 1));
    return t;
  };
  const us = (t: number): number => (t - (origin ?? t)) * 1000;
  const sink = (e: BuildEvent): void => {
    origin ??= e.time;
    switch (e.type) {
      case 'step-start':
        starts.set(e.step.id, e.time);
        return;
      case 'step-cached':
        events.push({ name: `CACHED ${e.step.text}`, cat: 'step', ph: 'i', ts: us(e.time), pid: 1, tid: tid(e.step.stage), args: { line: e.step.line } });
        return;
      case 'step-done':
      case 'step-failed': {
        const s = starts.get(e.step.id) ?? e.time - e.durationMs;
        events.push({
          name: e.step.text,
          cat: e.type === 'step-done' ? 'step' : 'failed',
          ph: 'X',
          ts: us(s),
          dur: e.durationMs * 1000,
          pid: 1,
          tid: tid(e.step.stage),
          args: { line: e.step.line, stage: e.step.stage },
        });
        return;
      }
      default:
        return;
    }
  };
  const toJSON = (): string => {
    const meta = [...tids].map(([stage, t]) => ({ name: 'thread_name', ph: 'M', pid: 1, tid: t, args: { name: `stage ${stage}` } }));
    return JSON.stringify({ traceEvents: [...meta, ...events], displayTimeUnit: 'ms' });
  };
  return { sink, toJSON };
}
