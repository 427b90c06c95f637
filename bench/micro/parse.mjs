// Parse throughput: a generated Dockerfile of many instructions of every common kind, parsed
// repeatedly with @tbuild/parser. Prints JSON on stdout.
import { bestOf, importPackage } from './bundle.mjs';

const mode = process.argv[3] ?? 'full';
const { parse } = await importPackage('parser');

const stages = mode === 'quick' ? 50 : 200;
let text = '# syntax=docker/dockerfile:1\nARG BASE=busybox\n';
for (let s = 0; s < stages; s++) {
  text += `FROM \${BASE} AS s${s}\nWORKDIR /app/${s}\nENV A${s}=1 B${s}="two words"\nCOPY --chown=1000:1000 package.json src/ ./\n`;
  text += `RUN --mount=type=cache,target=/root/.cache set -e; \\\n    echo building ${s} && \\\n    mkdir -p out && cp -r src out/\n`;
  text += `RUN <<EOF\necho heredoc ${s}\nEOF\nLABEL stage=${s}\nEXPOSE ${8000 + s}\nUSER app\nCMD ["node", "index.js"]\n`;
}
const bytes = Buffer.byteLength(text);
const lines = text.split('\n').length;
const reps = 5;
const ms = (await bestOf(3, async () => {
  for (let i = 0; i < reps; i++) parse(text);
})) / reps;
// Small files dominate real use: the cost of one typical 30-line Dockerfile.
const small = text.split('\n').slice(0, 30).join('\n');
const smallMs = (await bestOf(3, async () => {
  for (let i = 0; i < 100; i++) parse(small);
})) / 100;
const mbps = bytes / 1e6 / (ms / 1000);
console.log(
  JSON.stringify({
    parse: {
      bytes,
      lines,
      ms: +ms.toFixed(1),
      mbPerS: +mbps.toFixed(2),
      linesPerS: Math.round(lines / (ms / 1000)),
      small30LineMs: +smallMs.toFixed(2),
      summary: `${mbps.toFixed(2)} MB/s, ${Math.round(lines / (ms / 1000))} lines/s (${lines}-line file ${ms.toFixed(0)} ms; 30-line file ${smallMs.toFixed(2)} ms)`,
    },
  }),
);
