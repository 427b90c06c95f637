import type { BuildEvent } from '@tbuild/executor';

/** `--progress=rawjson`: the library's event stream, one JSON object per line. */
export function createRawJsonRenderer(out: NodeJS.WritableStream): (e: BuildEvent) => void {
  return (e) => {
    out.write(JSON.stringify(e) + '\n');
  };
}
