/**
 * The build's event stream. The library emits these through a callback (or an async iterator
 * built on it); the CLI renders them (tty, plain, rawjson) and `--trace` turns them into a
 * Chrome trace. Events are plain JSON so `--progress=rawjson` can print them as they are.
 */

/** Which step an event is about, with what a renderer needs to name it. */
export interface StepRef {
  id: string;
  /** Stage name, or its index when unnamed. */
  stage: string;
  /** 1-based position of the step within its stage, and the stage's step count. */
  index: number;
  total: number;
  /** Dockerfile line of the instruction. */
  line: number;
  /** The instruction as written (first line, trimmed). */
  text: string;
}

export type BuildEvent =
  | { type: 'build-start'; time: number; steps: number }
  | { type: 'step-start'; time: number; step: StepRef }
  | { type: 'step-cached'; time: number; step: StepRef }
  | { type: 'step-log'; time: number; step: StepRef; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'step-done'; time: number; step: StepRef; durationMs: number; layer?: { digest: string; size: number } }
  | { type: 'step-failed'; time: number; step: StepRef; durationMs: number; code: string; message: string }
  | { type: 'pull'; time: number; ref: string; status: 'resolving' | 'pulling' | 'done'; current?: number; total?: number }
  | { type: 'export'; time: number; status: 'start' | 'done'; what: string; detail?: string }
  | { type: 'warning'; time: number; code: string; message: string; line?: number }
  | { type: 'build-done'; time: number; durationMs: number; ok: boolean; summary: BuildSummary };

export interface BuildSummary {
  steps: number;
  cached: number;
  executed: number;
  layersWritten: number;
  bytesWritten: number;
}

export type ProgressSink = (e: BuildEvent) => void;
