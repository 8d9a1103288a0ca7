import { describe, expect, test } from 'vitest';
import type { JourneyResult, RunResult, StepResult } from '../../src/core/result.js';
import { ConsoleReporter } from '../../src/report/console.js';
import { JsonReporter } from '../../src/report/json.js';
import { JunitReporter } from '../../src/report/junit.js';
import { ReporterMultiplexer } from '../../src/report/multiplexer.js';
import type { JourneyRef, Reporter } from '../../src/report/reporter.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { STARTED_AT, brokenAttempt, captureStream, journeyResult, mismatch, passedJourney, runResult } from './report-fixture.js';

const SECRET = 'tr0ub4dor-and-3';

/** Records what it was given, to prove what crossed the boundary. */
class RecordingReporter implements Reporter {
  readonly name = 'recording';
  readonly seen: unknown[] = [];
  onRunStart(info: unknown) {
    this.seen.push(info);
  }
  onJourneyStart(journey: JourneyRef) {
    this.seen.push(journey);
  }
  onStepEnd(journey: JourneyRef, step: StepResult) {
    this.seen.push(journey, step);
  }
  onJourneyEnd(result: JourneyResult) {
    this.seen.push(result);
  }
  onRunEnd(result: RunResult) {
    this.seen.push(result);
  }
}

const throwing = (name: string, error: unknown): Reporter => ({
  name,
  onRunStart: () => {
    throw error;
  },
  onStepEnd: () => {
    throw error;
  },
  onRunEnd: () => {
    throw error;
  },
});

const rejecting = (name: string, error: unknown): Reporter => ({
  name,
  onJourneyEnd: () => Promise.reject(error) as unknown as void,
  onRunEnd: () => Promise.reject(error),
});

function leakyJourney(): JourneyResult {
  const failure = {
    ...mismatch,
    message: `secret ${SECRET} came back twice`,
    actual: { value: SECRET, auth: `Basic ${Buffer.from(SECRET).toString('base64')}` },
  };
  const attempt = brokenAttempt(1, failure);
  attempt.cleanupErrors = [`could not delete ${encodeURIComponent(SECRET)}`];
  return journeyResult({ name: 'a dropped secret reads back once', status: 'failed', attempts: [attempt] });
}

async function driveRun(multiplexer: ReporterMultiplexer, journeys: JourneyResult[]): Promise<void> {
  multiplexer.onRunStart({ startedAt: STARTED_AT, journeys: journeys.map(({ name, file }) => ({ name, file })) });
  for (const journey of journeys) {
    const ref = { name: journey.name, file: journey.file, attempt: 1 };
    multiplexer.onJourneyStart(ref);
    for (const step of journey.attempts[0]?.steps ?? []) multiplexer.onStepEnd(ref, step);
    multiplexer.onJourneyEnd(journey);
  }
  await multiplexer.onRunEnd(runResult(journeys));
}

describe('ReporterMultiplexer', () => {
  test('a reporter that throws or rejects sinks neither the run nor the others', async () => {
    const recording = new RecordingReporter();
    const warnings: string[] = [];
    const multiplexer = new ReporterMultiplexer({
      reporters: [throwing('broken-sync', new Error('disk full')), rejecting('broken-async', new Error('socket closed')), recording],
      redactor: new Redactor(),
      warn: (text) => warnings.push(text),
    });

    await expect(driveRun(multiplexer, [passedJourney()])).resolves.toBeUndefined();

    expect(recording.seen.at(-1)).toMatchObject({ status: 'passed', totals: { journeys: 1 } });
    expect(multiplexer.errors.map(({ reporter, hook }) => `${reporter}.${hook}`)).toEqual([
      'broken-sync.onRunStart',
      'broken-sync.onStepEnd',
      'broken-sync.onStepEnd',
      'broken-async.onJourneyEnd',
      'broken-sync.onRunEnd',
      'broken-async.onRunEnd',
    ]);
    expect(multiplexer.errors[0]!.error).toBeInstanceOf(Error);
    expect(warnings).toHaveLength(multiplexer.errors.length);
    expect(warnings[0]).toBe('ceiling: reporter "broken-sync" failed in onRunStart: Error: disk full');
    for (const warning of warnings) expect(warning).not.toContain('\n');
  });

  test('survives thrown values that are not errors', async () => {
    const warnings: string[] = [];
    const multiplexer = new ReporterMultiplexer({
      reporters: [throwing('odd', Object.create(null))],
      redactor: new Redactor(),
      warn: (text) => warnings.push(text),
    });
    await multiplexer.onRunEnd(runResult([]));
    expect(multiplexer.errors).toHaveLength(1);
    expect(warnings[0]).toContain('reporter "odd" failed in onRunEnd');
  });

  test('redacts every payload before any reporter sees it, and the warnings too', async () => {
    const redactor = new Redactor();
    expect(redactor.add(SECRET, 'drop value')).toBe(true);
    const stdout = captureStream();
    const liveConsole = captureStream(true);
    const recording = new RecordingReporter();
    const warnings: string[] = [];
    const multiplexer = new ReporterMultiplexer({
      reporters: [
        new ConsoleReporter({ stream: liveConsole.stream, color: false, live: true }),
        new JsonReporter({ stdout: stdout.stream }),
        new JunitReporter({ stdout: stdout.stream }),
        recording,
        throwing('leaky', new Error(`cannot write ${SECRET}`)),
      ],
      redactor,
      warn: (text) => warnings.push(text),
    });

    await driveRun(multiplexer, [leakyJourney()]);

    const outputs = {
      console: liveConsole.text(),
      files: stdout.text(),
      recorded: JSON.stringify(recording.seen),
      warnings: warnings.join('\n'),
      faults: multiplexer.errors.map((fault) => fault.message).join('\n'),
    };
    for (const [where, text] of Object.entries(outputs)) {
      expect(text, where).not.toContain(SECRET);
      expect(text, where).not.toContain(Buffer.from(SECRET).toString('base64'));
      expect(text, where).toContain('[REDACTED');
    }
    expect(outputs.console).toContain('[REDACTED:drop value] came back twice');
    expect(outputs.files).toContain('<testsuites');
  });

  test('without secrets, payloads pass through unchanged', async () => {
    const recording = new RecordingReporter();
    const multiplexer = new ReporterMultiplexer({ reporters: [recording], redactor: new Redactor() });
    const result = runResult([passedJourney()]);
    await multiplexer.onRunEnd(result);
    expect(recording.seen).toEqual([result]);
  });

  test('waits for reporters one after another so shared stdout does not interleave', async () => {
    const order: string[] = [];
    const slow: Reporter = {
      name: 'slow',
      onRunEnd: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        order.push('slow');
      },
    };
    const fast: Reporter = { name: 'fast', onRunEnd: () => void order.push('fast') };
    await new ReporterMultiplexer({ reporters: [slow, fast], redactor: new Redactor() }).onRunEnd(runResult([]));
    expect(order).toEqual(['slow', 'fast']);
  });
});
