import type { ContainerRuntime, RunIO, RunRequest, RunResult } from './container-runtime.ts';

/** One container run seen by a `RecordingRuntime`. */
export interface RecordedRun {
  args: string[];
  cwd: string;
  /** Order of starts and ends among all recorded events, for concurrency assertions. */
  startSeq: number;
  endSeq?: number;
  result?: RunResult;
  error?: unknown;
}

/**
 * A decorator over a real runtime that records every run, so tests can assert on behaviour
 * with real containers: "the rebuild ran zero containers", "never more than N at once".
 * It adds no behaviour of its own (style.md G6 b).
 */
export class RecordingRuntime implements ContainerRuntime {
  readonly runs: RecordedRun[] = [];
  #seq = 0;
  #active = 0;
  #maxConcurrent = 0;

  constructor(private readonly inner: ContainerRuntime) {}

  /** The most runs that were in flight at the same time. */
  get maxConcurrent(): number {
    return this.#maxConcurrent;
  }

  async run(spec: RunRequest, io: RunIO, signal?: AbortSignal): Promise<RunResult> {
    const rec: RecordedRun = { args: [...spec.args], cwd: spec.cwd, startSeq: this.#seq++ };
    this.runs.push(rec);
    this.#active++;
    this.#maxConcurrent = Math.max(this.#maxConcurrent, this.#active);
    try {
      rec.result = await this.inner.run(spec, io, signal);
      return rec.result;
    } catch (e) {
      rec.error = e;
      throw e;
    } finally {
      this.#active--;
      rec.endSeq = this.#seq++;
    }
  }
}
