/**
 * Where the gate's verdict goes, behind one interface, each output isolated as
 * `ceiling run`'s reporters are (report/multiplexer.ts): an output that throws
 * (an unwritable --junit path, a Pushgateway that refuses) becomes one warning
 * naming the output and the reason, the others still run, and the exit code
 * stays the verdict's. The result reaching them is already redacted; the text
 * each one renders is swept again on its way out.
 */
import { writeStepSummary } from '../report/github-text.js';
import { writeToFile, writeToStream, type OutputStream } from '../report/output.js';
import type { Redactor } from '../secrets/redactor.js';
import type { WebhookAuth } from '../webhook/auth.js';
import type { GateResult } from './model.js';
import { sendGateNotifications } from './notify.js';
import { pushVerdict } from './pushgateway.js';
import { renderGateSummary } from './render-console.js';
import { renderAnnotations, renderStepSummary } from './render-github.js';
import { renderGateJUnit } from './render-junit.js';
import { writeVerdictFile } from './verdict-file.js';

export interface GateOutput {
  /** How a warning names it, e.g. `junit ceiling-out/gate.xml`. */
  readonly name: string;
  write(result: GateResult): Promise<void>;
}

export interface GateOutputFault {
  output: string;
  /** Redacted, one line. */
  message: string;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim();
}

/** One after another, since several share stdout; returns what failed, each already reported through `warn`. */
export async function writeGateOutputs(
  outputs: readonly GateOutput[],
  result: GateResult,
  options: { redactor: Redactor; warn: (line: string) => void },
): Promise<GateOutputFault[]> {
  const faults: GateOutputFault[] = [];
  for (const output of outputs) {
    try {
      await output.write(result);
    } catch (error) {
      const fault = { output: options.redactor.redact(output.name), message: options.redactor.redact(describe(error)) };
      faults.push(fault);
      options.warn(`ceiling gate: output "${fault.output}" failed: ${fault.message} (the other outputs still run; the exit code stays the verdict's)`);
    }
  }
  return faults;
}

/** The verdict as JSON (--verdict-out, and json=PATH among the config's reporters). */
export function verdictFileOutput(file: string): GateOutput {
  return { name: `verdict ${file}`, write: (result) => writeVerdictFile(file, result) };
}

export function junitOutput(file: string): GateOutput {
  return { name: `junit ${file}`, write: (result) => writeToFile(file, renderGateJUnit(result)) };
}

export function consoleOutput(options: { stream: OutputStream; color: boolean; redactor: Redactor }): GateOutput {
  return { name: 'console', write: (result) => writeToStream(options.stream, options.redactor.redact(renderGateSummary(result, { color: options.color }))) };
}

/** The step summary appended to GITHUB_STEP_SUMMARY, and one annotation per finding on the stream. */
export function githubOutput(options: { summaryFile: string; workspace: string; stream: OutputStream; redactor: Redactor }): GateOutput {
  return {
    name: 'github',
    write: async (result) => {
      await writeStepSummary(options.summaryFile, options.redactor.redact(renderStepSummary(result)));
      const annotations = renderAnnotations(result, options.workspace).map((line) => `${options.redactor.redact(line)}\n`);
      if (annotations.length > 0) await writeToStream(options.stream, annotations.join(''));
    },
  };
}

export function pushgatewayOutput(options: {
  url: string;
  job?: string;
  grouping: Record<string, string>;
  redactor: Redactor;
  log: (line: string) => void;
}): GateOutput {
  return {
    name: 'pushgateway',
    write: async (result) => {
      await pushVerdict({
        url: options.url,
        result,
        redactor: options.redactor,
        ...(options.job !== undefined ? { job: options.job } : {}),
        grouping: options.grouping,
      });
      options.log('ceiling gate: verdict pushed to the Pushgateway');
    },
  };
}

/** Webhooks and Slack, only when the gate did not pass. */
export function notificationsOutput(options: {
  webhooks: string[];
  slack: string[];
  auth?: WebhookAuth;
  redactor: Redactor;
  signal: AbortSignal;
  log: (line: string) => void;
}): GateOutput {
  return {
    name: 'notifications',
    write: async (result) => {
      if (result.verdict === 'pass') return;
      const sent = await sendGateNotifications({
        webhooks: options.webhooks,
        slack: options.slack,
        result,
        ...(options.auth !== undefined ? { auth: options.auth } : {}),
        redactor: options.redactor,
        signal: options.signal,
        log: options.log,
      });
      options.log(`ceiling gate: notified ${sent.delivered} endpoint(s)${sent.failed > 0 ? `, ${sent.failed} failed` : ''}`);
    },
  };
}
