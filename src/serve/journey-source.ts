import { stat } from 'node:fs/promises';
import { hasErrors, type Diagnostic } from '../journey/diagnostics.js';
import type { Journey } from '../journey/journey.js';
import { findJourneyFiles, loadJourneys, type LoadOptions } from '../journey/load.js';

/**
 * The daemon's journeys, read from files and re-read when they change. A file
 * whose new version has errors keeps its previous version running: a typo
 * saved at 3 am must not switch a probe off. Its errors are reported instead.
 */

export interface SourceSnapshot {
  journeys: Journey[];
  /** Every problem found by the last load, with file:line:col. */
  diagnostics: Diagnostic[];
  /** Files whose last edit was refused, so their previous version still runs. */
  keptPrevious: string[];
}

/** A cheap fingerprint of the files: names, sizes and modification times. */
async function fingerprint(paths: readonly string[]): Promise<string> {
  const found = await findJourneyFiles(paths);
  const parts = await Promise.all(
    found.files.map(async (file) => {
      try {
        const info = await stat(file);
        return `${file}\0${info.size}\0${info.mtimeMs}`;
      } catch {
        return `${file}\0gone`;
      }
    }),
  );
  return `${parts.join('\n')}\n${found.diagnostics.map((d) => d.file).join('\n')}`;
}

export class JourneySource {
  private byFile = new Map<string, Journey[]>();
  private lastFingerprint = '';

  constructor(
    private readonly paths: readonly string[],
    private readonly options: LoadOptions = {},
  ) {}

  /** The first load: any error is fatal, so a bad config never starts serving. */
  async loadInitial(): Promise<{ journeys?: Journey[]; diagnostics: Diagnostic[] }> {
    this.lastFingerprint = await fingerprint(this.paths);
    const loaded = await loadJourneys(this.paths, this.options);
    if (hasErrors(loaded.diagnostics)) return { diagnostics: loaded.diagnostics };
    this.byFile = groupByFile(loaded.journeys);
    return { journeys: loaded.journeys, diagnostics: loaded.diagnostics };
  }

  /** Re-reads the files when they changed (or when forced); undefined when nothing changed. */
  async reload(force = false): Promise<SourceSnapshot | undefined> {
    const current = await fingerprint(this.paths);
    if (!force && current === this.lastFingerprint) return undefined;
    this.lastFingerprint = current;
    const loaded = await loadJourneys(this.paths, this.options);
    const refused = new Set(loaded.diagnostics.filter((d) => d.severity === 'error').map((d) => d.file));
    const fresh = groupByFile(loaded.journeys);
    const next = new Map<string, Journey[]>();
    for (const file of loaded.files) {
      next.set(file, refused.has(file) ? (this.byFile.get(file) ?? []) : (fresh.get(file) ?? []));
    }
    this.byFile = next;
    return { journeys: uniqueByName([...next.values()].flat()), diagnostics: loaded.diagnostics, keptPrevious: [...refused].filter((file) => next.has(file)) };
  }
}

function groupByFile(journeys: readonly Journey[]): Map<string, Journey[]> {
  const grouped = new Map<string, Journey[]>();
  for (const journey of journeys) grouped.set(journey.file, [...(grouped.get(journey.file) ?? []), journey]);
  return grouped;
}

/** A refused file keeps its old journeys; if another file took one of those names meanwhile, the first file in order wins. */
function uniqueByName(journeys: readonly Journey[]): Journey[] {
  const seen = new Set<string>();
  return journeys.filter((journey) => {
    if (seen.has(journey.name)) return false;
    seen.add(journey.name);
    return true;
  });
}
