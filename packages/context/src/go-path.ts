/**
 * Go's `path.Clean` for slash-separated paths: Docker cleans every COPY source and every
 * .dockerignore pattern with it, so matching its output exactly is what makes `/a/../../b`
 * mean `b` and `docs/` mean `docs`.
 */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** A context-relative path ('' is the root) from any user path: `..` and `/` never escape. */
export function contextRel(p: string): string {
  const c = cleanPath('/' + p);
  return c === '/' ? '' : c.slice(1);
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function baseName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? rel : rel.slice(i + 1);
}

export function dirName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
