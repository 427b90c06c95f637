import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '@tbuild/cache';

/** A real @tbuild/cache Store in a fresh temp directory; cleanup() removes it. */
export async function openTestStore(): Promise<Store & { cleanup(): void }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-regstore-'));
  const store = await Store.open(root);
  return Object.assign(store, { cleanup: () => fs.rmSync(root, { recursive: true, force: true }) });
}
