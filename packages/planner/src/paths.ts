/** POSIX `path.Clean` (Go semantics): no `.`/`..`/double slashes; `..` never climbs above `/`. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined || '.';
}

/**
 * Resolves `p` against the working directory like BuildKit's pathRelativeToWorkingDir:
 * absolute stays absolute, `.`/empty means the workdir itself, and a trailing `/` survives
 * (for COPY it means "into this directory"). Only those: `/x/.` cleans to `/x`, a file name
 * for a single file, as in BuildKit's dispatchCopy.
 */
export function resolveAgainst(workdir: string, p: string): string {
  const trailing = p.endsWith('/') || p === '.' || p === '';
  const base = p.startsWith('/') ? p : `${workdir || '/'}/${p}`;
  const cleaned = cleanPath(base);
  return trailing && cleaned !== '/' ? `${cleaned}/` : cleaned;
}

/** WORKDIR: relative paths join the previous WORKDIR; the result is clean, absolute, no trailing slash. */
export function resolveWorkdir(current: string, p: string): string {
  return cleanPath(p.startsWith('/') ? p : `${current || '/'}/${p}`);
}

export function baseName(p: string): string {
  const c = cleanPath(p);
  const i = c.lastIndexOf('/');
  return i < 0 ? c : c.slice(i + 1);
}
