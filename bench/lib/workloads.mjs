// The four workloads, generated on disk by the benchmark. Each is a context directory with a
// Dockerfile FROM the loopback base image, an `edit(n)` that changes exactly one context file,
// and `expect(n)`: files the output image must hold after edit n (0 = unedited), checked
// before any time is reported.
import fs from 'node:fs';
import path from 'node:path';

const W = (dir, rel, data) => {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
};

/** Deterministic filler text: distinct per seed, compressible like source code (~3:1). */
function text(seed, bytes) {
  const words = ['const', 'return', 'function', 'import', 'export', 'value', 'index', 'buffer', 'length', 'await', 'module', 'string'];
  let s = seed * 2654435761;
  let out = `// file ${seed}\n`;
  while (out.length < bytes) {
    s = (s * 1103515245 + 12345) >>> 0;
    out += words[s % words.length] + (s % 7 === 0 ? '\n' : ' ') + (s % 13 === 0 ? `${s % 1000};\n` : '');
  }
  return out.slice(0, bytes);
}

/** Generates a context dir unless it is already there for this base (reused across runs). */
function prepared(dir, base, generate) {
  const done = path.join(dir, '.bench-generated');
  if (!fs.existsSync(done) || fs.readFileSync(done, 'utf8') !== base) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    generate();
    fs.writeFileSync(done, base);
  }
  return dir;
}

/** (1) Eight independent stages, a few MB each, gathered by a final stage. */
function parallel(root, base) {
  const dir = path.join(root, 'parallel');
  prepared(dir, base, () => {
    const stages = [];
    for (let i = 0; i < 8; i++) {
      W(dir, `parts/${i}.txt`, `part ${i} v0\n`);
      stages.push(
        `FROM ${base} AS s${i}\nCOPY parts/${i}.txt /in.txt\n` +
          `RUN mkdir /out && head -c 3000000 /dev/urandom > /out/noise${i}.bin && ` +
          `for j in $(seq 1 2000); do cat /in.txt; done > /out/text${i}.txt && ` +
          `sha256sum /out/noise${i}.bin | cut -c1-64 > /out/sum${i}\n`,
      );
    }
    const df = stages.join('\n') + `\nFROM ${base}\n` + Array.from({ length: 8 }, (_, i) => `COPY --from=s${i} /out/ /gathered/\n`).join('');
    W(dir, 'Dockerfile', df);
    W(dir, '.dockerignore', '.bench-generated\n');
  });
  return {
    name: 'parallel',
    title: 'eight stages, ~4 MB each, gathered',
    dir,
    edit: (n) => W(dir, 'parts/3.txt', `part 3 v${n}\n`),
    expect: (n) => [
      ...Array.from({ length: 8 }, (_, i) => ({ path: `gathered/noise${i}.bin`, size: 3_000_000 })),
      ...Array.from({ length: 8 }, (_, i) => ({ path: `gathered/text${i}.txt`, content: `part ${i} v${i === 3 ? n : 0}\n`.repeat(2000) })),
    ],
  };
}

const BIG_FILES = 20_000;
const bigPath = (i) => `data/d${String(Math.floor(i / 100)).padStart(3, '0')}/f${String(i).padStart(5, '0')}.txt`;

/** (2) 20,000 small files (~80 MB) copied into the image and read by one RUN. */
function bigContext(root, base) {
  const dir = path.join(root, 'bigctx');
  prepared(dir, base, () => {
    for (let i = 0; i < BIG_FILES; i++) W(dir, bigPath(i), text(i, 4000));
    W(dir, 'Dockerfile', `FROM ${base}\nCOPY data /data\nRUN find /data -type f | wc -l > /count && cat $(find /data -type f | sort) | md5sum | cut -c1-32 > /sum\n`);
    W(dir, '.dockerignore', '.bench-generated\n');
  });
  return {
    name: 'bigctx',
    title: '20,000 files (~80 MB) copied, read by one RUN',
    dir,
    edit: (n) => W(dir, bigPath(12_345), text(12_345, 4000) + (n ? `edit ${n}\n` : '')),
    expect: (n) => [
      { path: 'count', content: `${BIG_FILES}\n` },
      { path: 'data/d000/f00000.txt', content: text(0, 4000) },
      { path: bigPath(12_345), content: text(12_345, 4000) + (n ? `edit ${n}\n` : '') },
      { path: bigPath(BIG_FILES - 1), size: 4000 },
    ],
  };
}

/** (3) Forty stacked RUN steps; the edited file is copied after the twentieth. */
function stacked(root, base) {
  const dir = path.join(root, 'stacked');
  prepared(dir, base, () => {
    let df = `FROM ${base}\nRUN mkdir /steps\n`;
    for (let i = 1; i <= 40; i++) {
      if (i === 21) df += 'COPY marker.txt /marker.txt\n';
      df += `RUN echo step ${i} > /steps/${String(i).padStart(2, '0')} && cat /steps/* | wc -l > /steps/count\n`;
    }
    W(dir, 'Dockerfile', df);
    W(dir, 'marker.txt', 'marker v0\n');
    W(dir, '.dockerignore', '.bench-generated\n');
  });
  return {
    name: 'stacked',
    title: 'forty stacked RUN steps',
    dir,
    edit: (n) => W(dir, 'marker.txt', `marker v${n}\n`),
    expect: (n) => [
      { path: 'steps/40', content: 'step 40\n' },
      { path: 'steps/count', content: '40\n' },
      { path: 'marker.txt', content: `marker v${n}\n` },
    ],
  };
}

/** (4) A Node.js-style service: deps install, build, production deps pruned, slim final stage. */
function nodeApp(root, base) {
  const dir = path.join(root, 'nodeapp');
  prepared(dir, base, () => {
    W(dir, 'package.json', JSON.stringify({ name: 'svc', version: '1.0.0', main: 'dist/index.js', dependencies: Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`pkg${i}`, `^${i % 9}.0.0`])) }, null, 2));
    W(dir, 'package-lock.json', text(99_999, 200_000));
    W(dir, 'tsconfig.json', '{ "compilerOptions": { "outDir": "dist" } }\n');
    for (let i = 0; i < 300; i++) W(dir, `src/mod${i}.js`, text(50_000 + i, 3000));
    W(dir, 'src/index.js', 'console.log("v0")\n');
    for (let i = 0; i < 50; i++) W(dir, `test/t${i}.test.js`, text(60_000 + i, 2000));
    W(dir, 'README.md', text(70_000, 10_000));
    // What a developer's checkout has and the image must not see.
    for (let i = 0; i < 200; i++) W(dir, `node_modules/local${i}/index.js`, text(80_000 + i, 5000));
    W(dir, '.dockerignore', '.bench-generated\nnode_modules\n.git\n*.md\ntest\n');
    W(
      dir,
      'Dockerfile',
      [
        `FROM ${base} AS deps`,
        'WORKDIR /app',
        'COPY package.json package-lock.json ./',
        // Stands in for `npm ci`: ~120 packages, ~2,400 files, ~12 MB, derived from the lockfile.
        'RUN for p in $(seq 0 119); do d=node_modules/pkg$p; mkdir -p $d/lib $d/test; ' +
          'for f in $(seq 1 15); do head -c 4000 package-lock.json > $d/lib/f$f.js; done; ' +
          'for f in $(seq 1 5); do echo test > $d/test/t$f.js; done; echo "{\\"name\\":\\"pkg$p\\"}" > $d/package.json; done',
        '',
        'FROM deps AS build',
        'COPY tsconfig.json ./',
        'COPY src ./src',
        'RUN mkdir -p dist && for f in src/*.js; do cp $f dist/; done && cat dist/*.js | wc -c > dist/BUILD_SIZE',
        '',
        'FROM deps AS prod-deps',
        'RUN rm -rf node_modules/*/test',
        '',
        `FROM ${base}`,
        'ENV NODE_ENV=production',
        'WORKDIR /app',
        'COPY --from=prod-deps /app/node_modules ./node_modules',
        'COPY --from=build /app/dist ./dist',
        'COPY package.json ./',
        'USER app',
        'CMD ["node", "dist/index.js"]',
        '',
      ].join('\n'),
    );
  });
  return {
    name: 'nodeapp',
    title: 'Node.js-style multi-stage service',
    dir,
    edit: (n) => W(dir, 'src/index.js', `console.log("v${n}")\n`),
    expect: (n) => [
      { path: 'app/dist/index.js', content: `console.log("v${n}")\n` },
      { path: 'app/dist/mod299.js', content: text(50_299, 3000) },
      { path: 'app/node_modules/pkg119/package.json', content: '{"name":"pkg119"}\n' },
      { path: 'app/node_modules/pkg0/test', absent: true },
      { path: 'app/package.json', size: fs.statSync(path.join(dir, 'package.json')).size },
    ],
  };
}

/** All workloads by name, generated under `root` (reused when already there). */
export function workloads(root, base) {
  return [parallel(root, base), bigContext(root, base), stacked(root, base), nodeApp(root, base)];
}

/** Restores the unedited state (edit 0) so every scenario starts from the same context. */
export function resetEdits(ws) {
  for (const w of ws) w.edit(0);
}
