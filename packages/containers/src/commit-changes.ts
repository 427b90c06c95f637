import type { ContainerConfig } from '@tbuild/registry';
import { containerError } from './errors.ts';

const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

function bad(change: string, why: string): Error {
  return containerError('TB_CONTAINER_COMMIT_INVALID', `invalid change "${change}": ${why}`, { hint: `supported instructions: ${ALLOWED.join(', ')}` });
}

/** Exec form (`["a","b"]`) when the text is a JSON string array, else shell form (`/bin/sh -c text`), like the Dockerfile. */
function commandForm(text: string, shell: string[]): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      /* not JSON: shell form, as the Dockerfile parser does */
    }
  }
  return [...shell, t];
}

/** Splits `a=1 b="two words"` (or the legacy `KEY value` form) into pairs, honouring double and single quotes. */
function keyValues(text: string, change: string): [string, string][] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) words.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw bad(change, 'unterminated quote');
  if (cur || any) words.push(cur);
  if (words.length === 0) throw bad(change, 'missing arguments');
  if (!words[0]!.includes('=')) {
    const rest = text.trim().slice(text.trim().indexOf(words[0]!) + words[0]!.length).trim();
    return [[words[0]!, rest]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(change, `"${w}" is not KEY=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/**
 * Applies `commit -c` Dockerfile instructions to a config (a new object; the input is not
 * changed). Only the instructions docker allows there are accepted.
 */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const out: ContainerConfig = { ...config };
  const shell = out.Shell && out.Shell.length ? out.Shell : ['/bin/sh', '-c'];
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)\s*([\s\S]*)$/.exec(change);
    if (!m) throw bad(change, 'empty instruction');
    const kw = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!ALLOWED.includes(kw)) throw bad(change, `${kw} is not allowed in a commit change`);
    if (rest === '' && kw !== 'CMD' && kw !== 'ENTRYPOINT') throw bad(change, `${kw} needs an argument`);
    switch (kw) {
      case 'CMD':
        out.Cmd = commandForm(rest, shell);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = commandForm(rest, shell);
        break;
      case 'ENV': {
        const env = [...(out.Env ?? [])];
        for (const [k, v] of keyValues(rest, change)) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        out.Env = env;
        break;
      }
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(keyValues(rest, change)) };
        break;
      case 'EXPOSE': {
        const ports = { ...(out.ExposedPorts ?? {}) };
        for (const p of rest.split(/\s+/)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw bad(change, `invalid port "${p}"`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        out.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const list = rest.startsWith('[') ? commandForm(rest, []) : rest.split(/\s+/);
        out.Volumes = { ...(out.Volumes ?? {}), ...Object.fromEntries(list.map((v) => [v, {}])) };
        break;
      }
      case 'USER':
        out.User = rest;
        break;
      case 'WORKDIR':
        out.WorkingDir = rest.startsWith('/') ? rest : `${(out.WorkingDir || '/').replace(/\/$/, '')}/${rest}`;
        break;
      case 'STOPSIGNAL':
        out.StopSignal = rest;
        break;
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), rest];
        break;
    }
  }
  return out;
}
