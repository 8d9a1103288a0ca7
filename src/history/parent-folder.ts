import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates the folders above `file` one level at a time.
 *
 * Node 20's `mkdirSync(dir, { recursive: true })` never returns when a parent
 * exists but refuses new entries with ENOENT, as `/proc/self` does: it retries
 * the same mkdir for ever at full CPU. Walking down from the deepest folder
 * that exists makes every mkdir a single attempt whose error is thrown.
 */
export function createParentFolders(file: string): void {
  const missing: string[] = [];
  for (let folder = path.dirname(path.resolve(file)); !exists(folder); folder = path.dirname(folder)) {
    missing.unshift(folder);
    if (path.dirname(folder) === folder) break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      // Another process may have created it between the check and the mkdir.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function exists(folder: string): boolean {
  try {
    statSync(folder);
    return true;
  } catch (error) {
    // ENOTDIR and the like: the path exists in some form; mkdir will say what is wrong with it.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
