// Node has no xattr API. @napi-rs/xattr ships prebuilt N-API binaries for linux-x64/arm64
// (glibc and musl) as optional packages, so it installs without node-gyp, compilers or
// network access to nodejs.org headers, and works on every Node ABI; its calls use the
// l*xattr syscalls, so symlinks are never followed. The alternative, `getfattr` from Debian's
// `attr` package, is not installed by default and would cost a process per batch plus
// parsing of its escaped text output.
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';

/** All xattrs of `p` (not following a final symlink). Filesystems without xattr support read as none. */
export function readXattrs(p: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let names: string[];
  try {
    names = listAttributesSync(p);
  } catch (e) {
    if (/not supported|ENOTSUP|EOPNOTSUPP/i.test(String(e))) return out;
    throw e;
  }
  for (const name of names) {
    const v = getAttributeSync(p, name);
    if (v) out.set(name, Buffer.from(v));
  }
  return out;
}

/** Gives `to` every xattr `from` has; a filesystem without xattr support at either end copies none. */
export function copyXattrs(from: string, to: string): void {
  for (const [name, value] of readXattrs(from)) {
    try {
      setAttributeSync(to, name, value);
    } catch (e) {
      if (!/not supported|ENOTSUP|EOPNOTSUPP/i.test(String(e))) throw e;
    }
  }
}
