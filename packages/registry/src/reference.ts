import { registryError } from './errors.ts';

/** A parsed image reference. `registry` is a host[:port]; Docker Hub is "docker.io". */
export interface ImageRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';

// distribution-spec name and tag grammars; the domain part follows docker/distribution's reference package.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

function invalid(ref: string, why: string): never {
  throw registryError('TB_REGISTRY_INVALID_REF', `invalid image reference "${ref.slice(0, 200)}": ${why}`, {
    hint: 'use name[:tag][@sha256:digest], for example busybox:1.36 or 127.0.0.1:5000/team/app:1',
  });
}

/**
 * Parses a Docker-style reference: `busybox` is docker.io/library/busybox, a first path part
 * with a dot, a colon or equal to "localhost" is a registry host. Neither a tag nor a digest
 * means tag "latest"; with a digest the tag is kept but the digest wins when pulling.
 */
export function parseRef(ref: string): ImageRef {
  if (ref.length === 0 || ref.length > 512) invalid(ref, 'empty or longer than 512 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) invalid(ref, 'digest must be sha256: followed by 64 lowercase hex digits');
  }
  let registry = DOCKER_HUB;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      if (!DOMAIN.test(first)) invalid(ref, `bad registry host "${first}"`);
      registry = first === 'index.docker.io' || first === 'registry-1.docker.io' ? DOCKER_HUB : first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) invalid(ref, `bad tag "${tag}"`);
  }
  if (rest.length === 0) invalid(ref, 'missing repository name');
  for (const c of rest.split('/')) {
    if (!COMPONENT.test(c)) invalid(ref, `bad repository name component "${c}" (lowercase letters, digits and separators only)`);
  }
  if (registry === DOCKER_HUB && !rest.includes('/')) rest = `library/${rest}`;
  if (rest.length > 255) invalid(ref, 'repository name longer than 255 characters');
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The fully qualified form: `busybox` -> `docker.io/library/busybox:latest`. */
export function formatRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`;
}

export function normalizeRef(ref: string): string {
  return formatRef(parseRef(ref));
}

/** Docker's short form for display and `docker save` RepoTags: `docker.io/library/busybox:1` -> `busybox:1`. */
export function familiarName(r: ImageRef): string {
  let name = `${r.registry}/${r.repository}`;
  if (r.registry === DOCKER_HUB) name = r.repository.startsWith('library/') ? r.repository.slice(8) : r.repository;
  return name;
}

export function familiarRef(r: ImageRef): string {
  return `${familiarName(r)}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`;
}
