/**
 * The verdict file is the GateResult itself, for delivery tools (Argo
 * Rollouts, Flagger, a deploy script) that read a file rather than an exit
 * code. It is written beside and renamed into place, so a tool polling for
 * it never reads half a verdict.
 */
import { writeToFile } from '../report/output.js';
import type { GateResult } from './model.js';

/** Pretty, in the model's key order, so two verdicts diff cleanly. */
export function renderVerdictJson(result: GateResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export async function writeVerdictFile(file: string, result: GateResult): Promise<void> {
  await writeToFile(file, renderVerdictJson(result));
}
