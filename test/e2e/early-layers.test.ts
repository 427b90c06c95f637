import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';

interface Event {
  type: string;
  time: number;
  step?: { text: string };
}

const MANY = 1500;

// A step starts on its parent's upper dir while the parent's layer is still being written
// (executor/scheduler/parent-chain.ts). What it sees must be exactly the parent's files,
// deletions (whiteouts) and replaced directories (opaque) included, and the parent's upper dir
// must stay until the step is done with it, even when the store already has that snapshot.
describe.skipIf(!isRoot)(`a step started while its parent's layer is written (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-early-');
  let store: Awaited<ReturnType<typeof seededStore>>;
  const ctx = path.join(work.dir, 'ctx');
  const make = 'RUN rm -rf /d/gone /d/x /d/keep && mkdir /d/keep && echo new > /d/keep/g && for i in $(seq 1 ' + MANY + '); do echo "file $i" > /d/many$i; done';
  const read = 'RUN sleep 1 && ls -R /d > /listing && cat /d/many* | md5sum | cut -c1-32 > /sum';

  beforeAll(async () => {
    store = await seededStore();
    fs.mkdirSync(ctx);
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      ['FROM busybox', 'RUN mkdir -p /d/keep /d/gone && echo 1 > /d/keep/f && echo 2 > /d/gone/f && echo 3 > /d/x', make, read, 'RUN true', 'RUN ls /d | wc -l > /count', ''].join('\n'),
    );
  });
  afterAll(() => {
    store?.cleanup();
    work.cleanup();
  });

  const expectedSum = (): string => {
    const names = Array.from({ length: MANY }, (_, i) => `many${i + 1}`).sort();
    return createHash('md5')
      .update(names.map((n) => `file ${n.slice(4)}\n`).join(''))
      .digest('hex');
  };

  const build = async (extra: string[]): Promise<{ out: string; events: Event[] }> => {
    const out = path.join(work.dir, `out-${extra.length}`);
    const r = await tbuild(['build', '--root', store.root, '--progress=rawjson', '-o', `type=local,dest=${out}`, ...extra, ctx], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Event);
    return { out, events };
  };

  const at = (events: Event[], type: string, text: string): number => events.find((e) => e.type === type && e.step?.text.startsWith(text))!.time;

  it("sees the parent's files, deletions and replaced directories, and starts before that layer is written", async () => {
    const { out, events } = await build([]);
    expect(at(events, 'step-start', read)).toBeLessThan(at(events, 'step-done', make));
    const listing = fs.readFileSync(path.join(out, 'listing'), 'utf8');
    expect(listing).toContain('/d/keep:\ng\n');
    expect(listing).not.toMatch(/^(gone|x)$/m);
    expect(fs.readFileSync(path.join(out, 'sum'), 'utf8').trim()).toBe(expectedSum());
    // keep, many1..many1500: the empty RUN's layer-less step in between changed nothing.
    expect(fs.readFileSync(path.join(out, 'count'), 'utf8').trim()).toBe(String(MANY + 1));
    expect(await mountsUnder(store.root)).toEqual([]);
  });

  it("keeps a rerun's upper dir until the step above is done with it when the store has its snapshot already", async () => {
    // Same epoch, same commands: every rerun layer is one the store holds, so each upper dir is
    // set aside for removal while the next step may still read through it.
    const { out } = await build(['--no-cache']);
    expect(fs.readFileSync(path.join(out, 'sum'), 'utf8').trim()).toBe(expectedSum());
    expect(await mountsUnder(store.root)).toEqual([]);
    const r = await tbuild(['build', '--root', store.root, '-q', ctx], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code, r.stderr).toBe(0);
  });

  it("fails with the parent's error when its layer cannot be written after the step above started, and leaves nothing behind", async () => {
    const bad = path.join(work.dir, 'bad');
    fs.mkdirSync(bad);
    // The differ refuses the `.wh.` name only at the end of its sorted walk, after 3,000 files.
    const make = 'RUN mkdir -p /aaa /zzz && for i in $(seq 1 3000); do echo "f $i" > /aaa/f$i; done && touch /zzz/.wh.bad';
    fs.writeFileSync(path.join(bad, 'Dockerfile'), ['FROM busybox', make, 'RUN sleep 1 && ls /aaa | wc -l > /n', ''].join('\n'));
    const r = await tbuild(['build', '--root', store.root, '--progress=rawjson', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error TB_EXEC_WHITEOUT_NAME: "/zzz/.wh.bad"');
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Event);
    expect(at(events, 'step-start', 'RUN sleep 1')).toBeLessThan(at(events, 'step-failed', make));
    expect(await mountsUnder(store.root)).toEqual([]);
    expect(fs.readdirSync(path.join(store.root, 'tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(store.root, 'run'))).toEqual([]);
  });
});
