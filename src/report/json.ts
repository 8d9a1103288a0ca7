/**
 * The JSON report is the result model itself: the engine builds it from plain
 * objects in a fixed key order, so the file diffs cleanly between runs.
 */
import type { RunResult } from '../core/result.js';
import type { Reporter } from './reporter.js';
import { writeOutput, type OutputTarget } from './output.js';

/** Absent optional fields stay absent: JSON.stringify drops the undefined ones. */
export function renderJson(result: RunResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export class JsonReporter implements Reporter {
  readonly name = 'json';

  constructor(private readonly target: OutputTarget) {}

  onRunEnd(result: RunResult): Promise<void> {
    return writeOutput(this.target, renderJson(result));
  }
}
