import type { JourneyResult, RunResult, StepResult } from '../core/result.js';

/**
 * A reporter has small, optional live hooks and one required end hook. Live
 * hooks let the console show progress; the end hook gets the whole result.
 */
export interface JourneyRef {
  name: string;
  file: string;
  attempt: number;
  /** The retry budget (1 + retries), so progress can read `attempt 2/3`; optional because the result model does not carry it. */
  maxAttempts?: number;
}

export interface RunStartInfo {
  startedAt: string;
  journeys: { name: string; file: string }[];
}

export interface Reporter {
  readonly name: string;
  onRunStart?(info: RunStartInfo): void;
  onJourneyStart?(journey: JourneyRef): void;
  onStepEnd?(journey: JourneyRef, step: StepResult): void;
  onJourneyEnd?(result: JourneyResult): void;
  /** Writes the final output. Files go where the reporter was told. */
  onRunEnd(result: RunResult): Promise<void> | void;
}
