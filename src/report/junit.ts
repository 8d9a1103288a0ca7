/**
 * JUnit XML in the Surefire dialect, which Jenkins, GitLab, GitHub test
 * annotators and most CI test tabs read:
 * - one <testsuite> per journey file, one <testcase> per journey;
 * - an assertion mismatch is a <failure>, anything that kept the journey
 *   from running (timeout, connect, dns, tls, protocol, config, interrupt)
 *   is an <error>;
 * - a pass after retries is a passing testcase carrying <flakyFailure> or
 *   <flakyError> per failed attempt; a journey that failed on every retry
 *   carries <failure>/<error> for its last attempt and <rerunFailure> or
 *   <rerunError> for the earlier ones.
 */
import { create } from 'xmlbuilder2';
import { lastAttempt, type AttemptResult, type JourneyResult, type RunResult } from '../core/result.js';
import type { Reporter } from './reporter.js';
import { writeOutput, type OutputTarget } from './output.js';
import { attemptLabel, failedStepOf, indent, renderFailureDetails, renderStepLine } from './text.js';
import { xmlSafeAttribute, xmlSafeText } from './xml-text.js';

// xmlbuilder2's index does not re-export its builder interface.
type XMLBuilder = ReturnType<typeof create>;

const plain = { color: false } as const;

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

type Outcome = 'Failure' | 'Error';

function outcomeOf(attempt: AttemptResult): Outcome {
  return attempt.status === 'error' ? 'Error' : 'Failure';
}

function failureBody(journey: JourneyResult, attempt: AttemptResult): string {
  const details = renderFailureDetails(attempt, plain);
  // A journey-wide deadline has no failing step; the file is then the only location there is.
  return failedStepOf(attempt) ? details : [journey.file, details].filter(Boolean).join('\n');
}

function stepLines(attempt: AttemptResult): string {
  return attempt.steps.map((step) => renderStepLine(step, plain)).join('\n');
}

function addOutcome(testcase: XMLBuilder, element: string, attempt: AttemptResult): XMLBuilder {
  const failure = attempt.failure ?? failedStepOf(attempt)?.failure;
  return testcase.ele(element, {
    message: xmlSafeAttribute(failure?.message ?? `attempt ${attempt.attempt} ${attempt.status}`),
    type: xmlSafeAttribute(failure?.code ?? attempt.status),
  });
}

/** Surefire puts a retried attempt's detail in <stackTrace> and its output beside it. */
function addRetriedAttempt(testcase: XMLBuilder, element: string, journey: JourneyResult, attempt: AttemptResult): void {
  const node = addOutcome(testcase, element, attempt);
  node.ele('stackTrace').txt(xmlSafeText(failureBody(journey, attempt)));
  const steps = stepLines(attempt);
  if (steps) node.ele('system-out').txt(xmlSafeText(steps));
}

function systemOut(journey: JourneyResult): string {
  if (journey.attempts.length === 1 && journey.attempts[0]) return stepLines(journey.attempts[0]);
  return journey.attempts
    .map((attempt) => {
      const steps = stepLines(attempt);
      const header = `${attemptLabel(attempt.attempt)}: ${attempt.status}`;
      return steps ? `${header}\n${indent(steps)}` : header;
    })
    .join('\n');
}

function addTestcase(suite: XMLBuilder, journey: JourneyResult): void {
  const testcase = suite.ele('testcase', {
    name: xmlSafeAttribute(journey.name),
    classname: xmlSafeAttribute(journey.file),
    time: seconds(journey.durationMs),
  });
  const last = lastAttempt(journey);
  const earlier = journey.attempts.filter((attempt) => attempt !== last && attempt.status !== 'passed');

  if (journey.status === 'failed' || journey.status === 'error') {
    const element = journey.status === 'failed' ? 'failure' : 'error';
    if (last) addOutcome(testcase, element, last).txt(xmlSafeText(failureBody(journey, last)));
    else testcase.ele(element, { message: 'no attempt was recorded', type: journey.status });
    for (const attempt of earlier) addRetriedAttempt(testcase, `rerun${outcomeOf(attempt)}`, journey, attempt);
  } else if (journey.status === 'flaky') {
    for (const attempt of earlier) addRetriedAttempt(testcase, `flaky${outcomeOf(attempt)}`, journey, attempt);
  }

  // Jenkins and GitLab pick up attachments from this line form in system-out.
  const attachments = journey.attempts.flatMap((attempt) => attempt.attachments ?? []).map((file) => `[[ATTACHMENT|${file.path}]]`);
  const out = [systemOut(journey), ...attachments].filter(Boolean).join('\n');
  if (out) testcase.ele('system-out').txt(xmlSafeText(out));
  const cleanupErrors = journey.attempts.flatMap((attempt) => attempt.cleanupErrors);
  if (cleanupErrors.length > 0) testcase.ele('system-err').txt(xmlSafeText(cleanupErrors.join('\n')));
}

interface Tally {
  tests: number;
  failures: number;
  errors: number;
}

function tally(journeys: readonly JourneyResult[]): Tally {
  return {
    tests: journeys.length,
    failures: journeys.filter((journey) => journey.status === 'failed').length,
    errors: journeys.filter((journey) => journey.status === 'error').length,
  };
}

function byFile(journeys: readonly JourneyResult[]): Map<string, JourneyResult[]> {
  const groups = new Map<string, JourneyResult[]>();
  for (const journey of journeys) {
    const group = groups.get(journey.file);
    if (group) group.push(journey);
    else groups.set(journey.file, [journey]);
  }
  return groups;
}

export function renderJunit(result: RunResult): string {
  const total = tally(result.journeys);
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: 'ceiling',
    tests: String(total.tests),
    failures: String(total.failures),
    errors: String(total.errors),
    time: seconds(result.durationMs),
  });
  for (const [file, journeys] of byFile(result.journeys)) {
    const counts = tally(journeys);
    const suite = root.ele('testsuite', {
      name: xmlSafeAttribute(file),
      tests: String(counts.tests),
      failures: String(counts.failures),
      errors: String(counts.errors),
      skipped: '0',
      time: seconds(journeys.reduce((sum, journey) => sum + journey.durationMs, 0)),
      timestamp: journeys.map((journey) => journey.startedAt).sort()[0] ?? result.startedAt,
    });
    for (const journey of journeys) addTestcase(suite, journey);
  }
  return `${root.end({ prettyPrint: true })}\n`;
}

export class JunitReporter implements Reporter {
  readonly name = 'junit';

  constructor(private readonly target: OutputTarget) {}

  onRunEnd(result: RunResult): Promise<void> {
    return writeOutput(this.target, renderJunit(result));
  }
}
