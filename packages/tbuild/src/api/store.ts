import { Store } from '@tbuild/cache';

const open = new Map<string, Promise<Store>>();

/** One Store per root per process: bake and the library's callers share it. */
export function openStore(root: string): Promise<Store> {
  let s = open.get(root);
  if (!s) {
    s = Store.open(root);
    open.set(root, s);
    s.catch(() => open.delete(root));
  }
  return s;
}
