export declare const KIND: {
  readonly hello: number;
  readonly accepted: number;
  readonly refused: number;
  readonly stdout: number;
  readonly stderr: number;
  readonly exit: number;
  readonly reply: number;
  readonly signal: number;
  readonly resize: number;
};

export declare function frame(kind: number, payload?: Buffer | string): Buffer;

export declare class FrameReader {
  push(chunk: Buffer): Array<{ kind: number; payload: Buffer }>;
}

export declare function serverSocketPath(storeRoot: string): string;

export declare function bundleIdentity(bundlePath: string): string;
export declare function nativeIdentity(identity: string): string;

/** The first frame a client sends. */
export interface Hello {
  identity: string;
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  stdout?: { tty: boolean; columns?: number };
  stderr?: { tty: boolean; columns?: number };
  control?: 'status' | 'stop';
}
