// History `created_by` strings follow BuildKit's Go formatting so `docker history` of a tbuild
// image reads like one built by BuildKit.

/** Go `%q` of a []string: `["a" "b"]`. JSON string quoting matches Go's for printable text. */
export function goQuotedList(args: readonly string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(' ')}]`;
}

/** Go `%v` of a []string: `[a b]`. */
export function goList(args: readonly string[]): string {
  return `[${args.join(' ')}]`;
}

/** Go `time.Duration.String()` for a nanosecond count. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    // Sub-second values use the largest unit that keeps an integer part.
    const [unit, div] = u < 1e3 ? ['ns', 1] : u < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = `${trimFraction(u / div)}${unit}`;
  } else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    const s = `${trimFraction(u / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trimFraction(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(9).replace(/0+$/, '');
}
