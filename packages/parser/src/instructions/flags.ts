/**
 * Flag validation, after BuildKit's `BFlags` (frontend/dockerfile/instructions/bflag.go):
 * each instruction declares the flags it accepts and their kind; anything else is an error
 * with BuildKit's wording and a "did you mean" hint.
 */

import { suggest } from '@tbuild/errors';
import type { Flag } from '../ast.ts';
import { ParseCodes } from '../codes.ts';
import { InstructionError } from './fail.ts';

export type FlagKind = 'bool' | 'string' | 'strings';

/** The flags each instruction accepts (stable BuildKit frontend; labs-only flags excluded). */
export const FLAG_SPECS: Readonly<Record<string, Readonly<Record<string, FlagKind>>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
    exclude: 'strings',
  },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

/** Splits a raw flag word (`--name=value`) into a Flag. */
export function toFlag(text: string, range: Flag['range']): Flag {
  const eq = text.indexOf('=');
  const name = (eq === -1 ? text : text.slice(0, eq)).replace(/^--/, '');
  return { name, value: eq === -1 ? undefined : text.slice(eq + 1), range };
}

/** The validated flags of one instruction, by name, in the order written. */
export type FlagSet = Map<string, Flag[]>;

function unknownFlagHint(keyword: string, name: string, allowed: string[]): string {
  const close = suggest(name, allowed);
  if (close) return `did you mean --${close}?`;
  const elsewhere = Object.entries(FLAG_SPECS)
    .filter(([, spec]) => Object.hasOwn(spec, name))
    .map(([kw]) => kw);
  if (elsewhere.length > 0) return `--${name} is a flag of ${elsewhere.join(' and ')}, not ${keyword}`;
  if (allowed.length === 0) return `${keyword} takes no flags`;
  return `${keyword} accepts ${allowed.map((a) => '--' + a).join(', ')}`;
}

/** BuildKit `BFlags.Parse`: checks `flags` against `keyword`'s allowlist; throws on the first problem. */
export function validateFlags(keyword: string, flags: readonly Flag[]): FlagSet {
  const spec = FLAG_SPECS[keyword] ?? {};
  const allowed = Object.keys(spec);
  const used: FlagSet = new Map();
  for (const f of flags) {
    const flagName = `--${f.name}`;
    const kind = Object.hasOwn(spec, f.name) ? spec[f.name] : undefined;
    if (!kind) {
      throw new InstructionError(ParseCodes.UNKNOWN_FLAG, `unknown flag: ${flagName}`, f.range, unknownFlagHint(keyword, f.name, allowed));
    }
    const seen = used.get(f.name);
    if (seen && kind !== 'strings') {
      throw new InstructionError(ParseCodes.DUPLICATE_FLAG, `duplicate flag specified: ${flagName}`, f.range, `${flagName} may be given once`);
    }
    if (kind === 'bool') {
      if (f.value === '') {
        throw new InstructionError(ParseCodes.INVALID_FLAG_VALUE, `missing a value on flag: ${flagName}`, f.range, `write ${flagName}, ${flagName}=true or ${flagName}=false`);
      }
      const v = (f.value ?? '').toLowerCase();
      if (v !== '' && v !== 'true' && v !== 'false') {
        throw new InstructionError(
          ParseCodes.INVALID_FLAG_VALUE,
          `expecting boolean value for flag ${flagName}, not: ${f.value}`,
          f.range,
          `write ${flagName}, ${flagName}=true or ${flagName}=false`,
        );
      }
    } else if (f.value === undefined) {
      throw new InstructionError(ParseCodes.INVALID_FLAG_VALUE, `missing a value on flag: ${flagName}`, f.range, `write ${flagName}=<value>`);
    }
    if (seen) seen.push(f);
    else used.set(f.name, [f]);
  }
  return used;
}

/** Whether a bool flag is on: `--link` and `--link=true` (any case) are, `--link=false` and no flag are not. */
export function isFlagTrue(flag: Flag | undefined): boolean {
  if (!flag) return false;
  return flag.value === undefined || flag.value.toLowerCase() === 'true';
}
