import { BuildError } from '@tbuild/errors';

/**
 * Parses `--chmod`: octal (`755`, `0644`, at most 07777) or symbolic (`u=rwX,go=rX`, `+x`,
 * `a-w`) as BuildKit 1.14+ accepts. Returns the function that maps a source mode to the new one.
 */
export function parseChmod(spec: string): (mode: number, isDir: boolean) => number {
  if (/^[0-7]{1,4}$/.test(spec)) {
    const m = parseInt(spec, 8);
    return () => m;
  }
  const clauses = spec.split(',');
  const ops: Array<(mode: number, isDir: boolean) => number> = [];
  for (const clause of clauses) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!m) throw new BuildError({ code: 'TB_PLAN_CHMOD', message: `invalid chmod parameter "${spec}"`, hint: 'use octal (0755) or symbolic (u=rwX,go=rX) modes' });
    const who = m[1] || 'a';
    const op = m[2]!;
    const perms = m[3]!;
    ops.push((mode, isDir) => {
      let mask = 0;
      let bits = 0;
      const hasX = isDir || (mode & 0o111) !== 0;
      for (const w of who === 'a' ? 'ugo' : who) {
        const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
        mask |= 0o7 << shift;
        for (const p of perms) {
          if (p === 'r') bits |= 0o4 << shift;
          if (p === 'w') bits |= 0o2 << shift;
          if (p === 'x' || (p === 'X' && hasX)) bits |= 0o1 << shift;
          if (p === 's' && w === 'u') bits |= 0o4000;
          if (p === 's' && w === 'g') bits |= 0o2000;
          if (p === 't') bits |= 0o1000;
        }
      }
      if (op === '+') return mode | bits;
      if (op === '-') return mode & ~bits;
      return (mode & ~mask) | bits;
    });
  }
  return (mode, isDir) => ops.reduce((acc, f) => f(acc, isDir), mode & 0o7777);
}
