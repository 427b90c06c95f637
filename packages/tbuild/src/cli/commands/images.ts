import { familiarRef, parseRef, getImage, imageHistory, inspectImage, listImages, loadArchive, removeImage, saveArchive, tagImage, normalizeRef, RegistryClient, hostPlatform, parsePlatform } from '@tbuild/registry';
import { pullImage } from '../../api/pull.ts';
import { openStore } from '../../api/store.ts';
import { list, str, type FlagSpec } from '../args.ts';
import type { Command } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';
import { formatBytes } from '../progress/format.ts';
import { assertImageUnused, inspectContainersJson } from './containers.ts';
import path from 'node:path';
import { ago, shortId, table } from '../table.ts';

const FORMAT: FlagSpec = { name: 'format', type: 'string', choices: ['table', 'json'], help: 'output format' };

export const imagesCommand: Command = {
  spec: {
    name: 'images',
    summary: 'List images in the store',
    usage: 'tbuild images [OPTIONS] [REPOSITORY[:TAG]]',
    args: { min: 0, max: 1 },
    flags: [
      { name: 'quiet', short: 'q', type: 'bool', help: 'only print image IDs' },
      { name: 'no-trunc', type: 'bool', help: 'print whole image IDs' },
      FORMAT,
    ],
    examples: ['tbuild images', 'tbuild images my-app', 'tbuild rmi $(tbuild images -q my-app)', 'tbuild images --format json'],
  },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    const want = positionals[0];
    const rows: string[][] = [];
    const shown = [];
    for (const i of await listImages(store)) {
      const names = i.tags.length ? i.tags : ['<none>:<none>'];
      let any = false;
      for (const name of names) {
        const fam = name.startsWith('<none>') ? name : familiarRef(parseRef(name));
        const at = fam.lastIndexOf(':');
        const slash = fam.lastIndexOf('/');
        const [repo, tag] = at > slash ? [fam.slice(0, at), fam.slice(at + 1)] : [fam, '<none>'];
        // As docker's filter: a repository name, with a tag when one is given.
        if (want !== undefined && want !== repo && want !== `${repo}:${tag}`) continue;
        any = true;
        rows.push([repo, tag, flags['no-trunc'] === true ? i.id : shortId(i.id), ago(i.created), formatBytes(i.size)]);
      }
      if (any) shown.push(i);
    }
    if (flags.format === 'json') write(ctx.stdout, JSON.stringify(shown, null, 2));
    else if (flags.quiet === true) for (const r of rows) write(ctx.stdout, r[2]!);
    else write(ctx.stdout, table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows]));
    return 0;
  },
};

export const tagCommand: Command = {
  spec: { name: 'tag', summary: 'Give an image another name', usage: 'tbuild tag SOURCE TARGET', args: { min: 2, max: 2 }, flags: [], examples: ['tbuild tag my-app:latest 127.0.0.1:5000/team/my-app:1.0'] },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    await tagImage(store, positionals[0]!, normalizeRef(positionals[1]!));
    return 0;
  },
};

export const rmiCommand: Command = {
  spec: {
    name: 'rmi',
    summary: 'Remove image names (and images no name uses)',
    usage: 'tbuild rmi [-f] IMAGE...',
    args: { min: 1 },
    flags: [{ name: 'force', short: 'f', type: 'bool', help: 'remove even when a container uses the image' }],
    examples: ['tbuild rmi my-app:old'],
  },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    for (const p of positionals) {
      // An image a container runs from stays unless forced, as with docker.
      if (flags.force !== true) await assertImageUnused(ctx, flags, p);
      for (const line of await removeImage(store, p)) write(ctx.stdout, line);
    }
    return 0;
  },
};

export const inspectCommand: Command = {
  spec: {
    name: 'inspect',
    summary: 'Show images or containers as JSON (like docker inspect)',
    usage: 'tbuild inspect NAME...',
    args: { min: 1 },
    flags: [],
    examples: ['tbuild inspect my-app', 'tbuild inspect my-container'],
  },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    const out = [];
    for (const p of positionals) {
      try {
        out.push(await inspectImage(store, p));
      } catch (e) {
        // Not an image: docker inspect falls back to containers by name or ID.
        if ((e as { code?: string }).code !== 'TB_REGISTRY_IMAGE_NOT_FOUND') throw e;
        const found = await inspectContainersJson(ctx, flags, [p]).catch(() => undefined);
        if (!found?.length) throw e;
        out.push(...found);
      }
    }
    write(ctx.stdout, JSON.stringify(out, null, 4));
    return 0;
  },
};

export const historyCommand: Command = {
  spec: { name: 'history', summary: 'Show the history of an image', usage: 'tbuild history IMAGE', args: { min: 1, max: 1 }, flags: [FORMAT], examples: ['tbuild history my-app'] },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    const rows = await imageHistory(store, positionals[0]!);
    if (flags.format === 'json') {
      write(ctx.stdout, JSON.stringify(rows, null, 2));
      return 0;
    }
    const t = [['CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
    for (const r of rows) {
      const by = r.createdBy.replace(/\s+/g, ' ');
      t.push([ago(r.created), by.length > 60 ? by.slice(0, 59) + '…' : by, formatBytes(r.size), r.comment]);
    }
    write(ctx.stdout, table(t));
    return 0;
  },
};

const REGISTRY_FLAGS = [
  { name: 'insecure-registry', type: 'list', placeholder: 'HOST:PORT', help: 'reach this registry over plain HTTP (loopback ones always are)' },
] as const;

export const pullCommand: Command = {
  spec: {
    name: 'pull',
    summary: 'Pull an image from a registry',
    usage: 'tbuild pull [--platform OS/ARCH] IMAGE',
    args: { min: 1, max: 1 },
    flags: [{ name: 'platform', type: 'string', placeholder: 'OS/ARCH', help: 'platform to pull from a multi-platform image' }, ...REGISTRY_FLAGS],
    examples: ['tbuild pull 127.0.0.1:5000/base/busybox:1'],
  },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    const client = new RegistryClient({ insecureRegistries: list(flags['insecure-registry']) });
    const platform = str(flags.platform) ? parsePlatform(str(flags.platform)!) : hostPlatform();
    const res = await pullImage(store, client, normalizeRef(positionals[0]!), platform);
    write(ctx.stdout, `${normalizeRef(positionals[0]!)}@${res.digest}`);
    return 0;
  },
};

export const pushCommand: Command = {
  spec: {
    name: 'push',
    summary: 'Push an image to a registry',
    usage: 'tbuild push IMAGE[:TAG]',
    args: { min: 1, max: 1 },
    flags: [...REGISTRY_FLAGS],
    examples: ['tbuild push 127.0.0.1:5000/team/my-app:1.0'],
  },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    const client = new RegistryClient({ insecureRegistries: list(flags['insecure-registry']) });
    const ref = normalizeRef(positionals[0]!);
    await getImage(store, ref);
    const res = await client.push(store, ref, ref);
    write(ctx.stdout, `${ref}@${res.digest}`);
    return 0;
  },
};

export const saveCommand: Command = {
  spec: {
    name: 'save',
    summary: 'Write images to a tar archive (docker save format and OCI layout in one)',
    usage: 'tbuild save -o FILE IMAGE...',
    args: { min: 1 },
    flags: [{ name: 'output', short: 'o', type: 'string', placeholder: 'FILE', help: 'archive to write (default: stdout)' }],
    examples: ['tbuild save -o app.tar my-app:latest', 'tbuild save my-app | docker load'],
  },
  async run(ctx, { flags, positionals }) {
    const store = await openStore(storeRoot(ctx, flags));
    const out = str(flags.output);
    await saveArchive(store, positionals, out ? path.resolve(ctx.cwd, out) : (ctx.stdout as never));
    return 0;
  },
};

export const loadCommand: Command = {
  spec: {
    name: 'load',
    summary: 'Load images from a tar archive (docker save or OCI layout)',
    usage: 'tbuild load [-i FILE]',
    flags: [{ name: 'input', short: 'i', type: 'string', placeholder: 'FILE', help: 'archive to read (default: stdin)' }],
    examples: ['tbuild load -i app.tar', 'docker save busybox | tbuild load'],
  },
  async run(ctx, { flags }) {
    const store = await openStore(storeRoot(ctx, flags));
    const input = str(flags.input);
    const loaded = await loadArchive(store, input ? path.resolve(ctx.cwd, input) : (ctx.stdin as never));
    for (const l of loaded) {
      if (l.tags.length) for (const r of l.tags) write(ctx.stdout, `Loaded image: ${familiarRef(parseRef(r))}`);
      else write(ctx.stdout, `Loaded image ID: ${l.configDigest}`);
    }
    return 0;
  },
};
