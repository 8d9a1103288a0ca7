import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { findJourneyFiles } from '../journey/load.js';

/** What changed between two looks at the watched files. */
export interface FileChanges {
  /** New files and files whose content differs. */
  changed: string[];
  deleted: string[];
}

/** File → digest of its content; a file that cannot be read is kept with an empty digest, so it is reported when it reappears. */
export type FileSnapshot = Map<string, string>;

/** Editors save in bursts (write, rename, chmod); one look after the burst settles. */
const SETTLE_MS = 150;

export function diffSnapshots(before: FileSnapshot, after: FileSnapshot): FileChanges {
  const changed = [...after].filter(([file, digest]) => before.get(file) !== digest).map(([file]) => file);
  const deleted = [...before.keys()].filter((file) => !after.has(file));
  return { changed, deleted };
}

/**
 * Watches journey files and folders (and the project config) for `run --watch`.
 * Change events only say "look again": each look compares file contents with
 * the last one, so a save that changes nothing runs nothing, and an editor's
 * save-by-rename is seen like any other write.
 */
export class JourneyFileWatcher {
  private readonly watchers: FSWatcher[] = [];
  private snapshot: FileSnapshot = new Map();
  private settleTimer: NodeJS.Timeout | undefined;
  /** Looks run one after another, so a slow look cannot overwrite the snapshot a later one took. */
  private looking: Promise<void> = Promise.resolve();

  constructor(
    private readonly journeyPaths: readonly string[],
    private readonly extraFiles: readonly string[],
    private readonly onChange: (changes: FileChanges) => void,
  ) {}

  async start(): Promise<void> {
    this.snapshot = await this.look();
    const folders = new Map<string, boolean>();
    for (const input of [...this.journeyPaths, ...this.extraFiles]) {
      const isFolder = await stat(input).then(
        (info) => info.isDirectory(),
        () => false,
      );
      // A single file is watched through its folder: an editor that saves by renaming replaces the file a direct watch would follow.
      const folder = isFolder ? input : path.dirname(input);
      folders.set(folder, (folders.get(folder) ?? false) || isFolder);
    }
    for (const [folder, recursive] of folders) {
      try {
        const watcher = watch(folder, { recursive }, () => this.scheduleLook());
        // A watched folder that disappears ends its watcher; the next look reports its files deleted.
        watcher.on('error', () => this.scheduleLook());
        this.watchers.push(watcher);
      } catch {
        // A folder that does not exist (yet) cannot be watched; its absence was already reported by the load.
      }
    }
  }

  close(): void {
    clearTimeout(this.settleTimer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
  }

  private scheduleLook(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.looking = this.looking.then(() => this.lookAgain());
    }, SETTLE_MS);
  }

  private async lookAgain(): Promise<void> {
    const next = await this.look();
    const changes = diffSnapshots(this.snapshot, next);
    this.snapshot = next;
    if (changes.changed.length > 0 || changes.deleted.length > 0) this.onChange(changes);
  }

  private async look(): Promise<FileSnapshot> {
    const found = await findJourneyFiles(this.journeyPaths);
    const files = [...found.files, ...this.extraFiles];
    const digests = await Promise.all(
      files.map(async (file) => {
        const digest = await readFile(file).then(
          (bytes) => createHash('sha256').update(bytes).digest('hex'),
          () => '',
        );
        return [path.resolve(file), digest] as const;
      }),
    );
    // A watched extra file (the config) that is gone counts as deleted, not as unreadable.
    return new Map(digests.filter(([file, digest]) => digest !== '' || !this.extraFiles.some((extra) => path.resolve(extra) === file)));
  }
}
