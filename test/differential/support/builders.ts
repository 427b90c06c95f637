import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { tbuild } from '../../support/cli.ts';
import { tempDir } from '../../support/root.ts';
import { seededStore } from '../../support/seed.ts';
import { startDockerd, startRegistry, type TestDockerd, type TestRegistry } from '../../support/services.ts';
import { writeContext, type DiffCase } from './case.ts';
import { readSavedImage, type SavedImage } from './image-tree.ts';

/**
 * The two builders side by side: one registry holding tbuild's busybox base (pushed by
 * `tbuild push`, so both builders start from the same manifest digest), one dockerd (BuildKit
 * from Docker 20.10) and one tbuild store.
 */
export interface DiffEnv {
  base: string;
  /** Builds `c` with both builders; each result is the saved image, or the failed run's output. */
  build(c: DiffCase): Promise<{ tbuild: BuildOutcome; buildkit: BuildOutcome }>;
  /** Runs tbuild alone on `c` (for syntax the 20.10 frontend does not know). */
  buildTbuild(c: DiffCase): Promise<BuildOutcome>;
  stop(): Promise<void>;
}

/** What the test HTTP server serves to `ADD {{HTTP}}/path` (path → body). */
export const HTTP_FILES: Record<string, string> = {
  '/file.txt': 'downloaded\n',
  '/dir/archive.tar': 'not extracted: remote archives stay files\n',
};

/** A builder's result: the image when it succeeded, its log either way. */
export interface BuildOutcome {
  image?: SavedImage;
  code: number;
  log: string;
}

/** Starts the registry and dockerd and pushes the base; undefined when dockerd cannot run here. */
export async function startDiffEnv(): Promise<DiffEnv | undefined> {
  process.env.DOCKER_BUILDKIT = '1';
  const registry: TestRegistry = await startRegistry();
  const dockerd: TestDockerd | undefined = await startDockerd({ insecureRegistries: [registry.host] });
  if (!dockerd) {
    await registry.stop();
    return undefined;
  }
  const store = await seededStore();
  const work = tempDir('tbuild-diff-');
  const base = `${registry.host}/busybox:1`;
  for (const args of [['tag', '--root', store.root, 'busybox:latest', base], ['push', '--root', store.root, base]]) {
    const r = await tbuild(args);
    if (r.code !== 0) throw new Error(`tbuild ${args[0]} failed: ${r.stderr}`);
  }
  // ADD <url> sources for both builders: dockerd fetches from the host's network namespace.
  const server = http.createServer((req, res) => {
    const body = HTTP_FILES[req.url ?? ''];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const httpBase = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  let n = 0;

  const flags = (c: DiffCase, dir: string): string[] => {
    const out: string[] = [];
    for (const [k, v] of Object.entries(c.buildArgs ?? {})) out.push('--build-arg', `${k}=${v}`);
    if (c.target) out.push('--target', c.target);
    for (const [id, content] of Object.entries(c.secrets ?? {})) {
      const f = path.join(dir, `secret-${id}`);
      fs.writeFileSync(f, content);
      out.push('--secret', `id=${id},src=${f}`);
    }
    return out;
  };

  const runTbuild = async (c: DiffCase, dir: string): Promise<BuildOutcome> => {
    const ctx = path.join(dir, 'ctx');
    const tarPath = path.join(dir, 'tbuild.tar');
    const r = await tbuild(['build', '--root', store.root, '--progress=plain', '--network=none', '-t', `diff/${c.name}:tb`, '-o', `type=docker,dest=${tarPath}`, ...flags(c, dir), ctx]);
    if (r.code !== 0) return { code: r.code, log: r.stderr };
    return { code: 0, log: r.stderr, image: await readSavedImage(tarPath) };
  };

  const runBuildkit = async (c: DiffCase, dir: string): Promise<BuildOutcome> => {
    const ctx = path.join(dir, 'ctx');
    const tag = `diff/${c.name}:bk`;
    // No bridge in this dockerd: RUN gets no network, and tbuild's runs with `--network none` too.
    const r = await dockerd.docker(['build', '--network=none', '--progress=plain', '-t', tag, ...flags(c, dir), ctx]);
    if (r.code !== 0) return { code: r.code, log: r.stderr };
    const tarPath = path.join(dir, 'buildkit.tar');
    const s = await dockerd.docker(['save', '-o', tarPath, tag]);
    if (s.code !== 0) throw new Error(`docker save failed: ${s.stderr}`);
    return { code: 0, log: r.stderr, image: await readSavedImage(tarPath) };
  };

  const prepare = async (c: DiffCase): Promise<string> => {
    const dir = path.join(work.dir, `${++n}-${c.name}`);
    await writeContext(path.join(dir, 'ctx'), { ...c, dockerfile: c.dockerfile.replaceAll('{{HTTP}}', httpBase) }, base);
    return dir;
  };

  return {
    base,
    async build(c) {
      const dir = await prepare(c);
      const [tb, bk] = await Promise.all([runTbuild(c, dir), runBuildkit(c, dir)]);
      fs.rmSync(path.join(dir, 'tbuild.tar'), { force: true });
      fs.rmSync(path.join(dir, 'buildkit.tar'), { force: true });
      return { tbuild: tb, buildkit: bk };
    },
    async buildTbuild(c) {
      return runTbuild(c, await prepare(c));
    },
    async stop() {
      server.close();
      await dockerd.stop();
      await registry.stop();
      store.cleanup();
      work.cleanup();
    },
  };
}
