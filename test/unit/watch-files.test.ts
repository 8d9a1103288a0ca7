import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diffSnapshots, JourneyFileWatcher, type FileChanges } from '../../src/cli/watch-files.js';

describe('diffSnapshots', () => {
  it('reports new and edited files as changed, gone ones as deleted, and unchanged content as nothing', () => {
    const before = new Map([
      ['/j/same.yaml', 'a'],
      ['/j/edited.yaml', 'b'],
      ['/j/gone.yaml', 'c'],
    ]);
    const after = new Map([
      ['/j/same.yaml', 'a'],
      ['/j/edited.yaml', 'B'],
      ['/j/new.yaml', 'd'],
    ]);
    expect(diffSnapshots(before, after)).toEqual({ changed: ['/j/edited.yaml', '/j/new.yaml'], deleted: ['/j/gone.yaml'] });
    expect(diffSnapshots(after, after)).toEqual({ changed: [], deleted: [] });
  });
});

describe('JourneyFileWatcher', () => {
  let dir: string | undefined;
  let watcher: JourneyFileWatcher | undefined;
  afterEach(async () => {
    watcher?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Waits for the next reported change; bounded so a regression fails instead of hanging. */
  function nextChange(changes: FileChanges[], count: number): Promise<FileChanges> {
    return new Promise((resolve, reject) => {
      const giveUpAt = Date.now() + 10_000;
      const poll = () => {
        if (changes.length >= count) resolve(changes[count - 1]!);
        else if (Date.now() > giveUpAt) reject(new Error(`no change #${count} reported`));
        else setTimeout(poll, 20);
      };
      poll();
    });
  }

  it('sees a new journey file, an edit, and a deletion in a watched folder, and ignores other files', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ceiling-watch-'));
    await writeFile(path.join(dir, 'a.yaml'), 'name: a\n');
    const changes: FileChanges[] = [];
    watcher = new JourneyFileWatcher([dir], [], (change) => changes.push(change));
    await watcher.start();

    await writeFile(path.join(dir, 'notes.txt'), 'not a journey');
    await writeFile(path.join(dir, 'b.yaml'), 'name: b\n');
    expect(await nextChange(changes, 1)).toEqual({ changed: [path.join(dir, 'b.yaml')], deleted: [] });

    await writeFile(path.join(dir, 'a.yaml'), 'name: a2\n');
    expect(await nextChange(changes, 2)).toEqual({ changed: [path.join(dir, 'a.yaml')], deleted: [] });

    await unlink(path.join(dir, 'b.yaml'));
    expect(await nextChange(changes, 3)).toEqual({ changed: [], deleted: [path.join(dir, 'b.yaml')] });
  });
});
