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
import { lastAttempt, type AttemptResult, type JourneyResult, type RunResult } from '../core/result.js';
import type { Reporter } from './reporter.js';
import { writeOutput, type OutputTarget } from './output.js';
import { attemptLabel, failedStepOf, indent, renderFailureDetails, renderStepLine } from './text.js';
import { serializeXmlDocument, type XmlAttributes, type XmlElement, type XmlNode } from './xml.js';
import { junitAttribute, junitText } from './xml-text.js';

const plain = { color: false } as const;

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

const element = (name: string, attributes: XmlAttributes = {}, children: XmlNode[] = []): XmlElement => ({ name, attributes, children });

/** An element holding one text; it closes itself when the text is empty. */
const textElement = (name: string, text: string, attributes: XmlAttributes = {}): XmlElement => element(name, attributes, [{ text: junitText(text) }]);

type Outcome = 'Failure' | 'Error';

function outcomeOf(attempt: AttemptResult): Outcome {
  return attempt.status === 'error' ? 'Error' : 'Failure';
}

function failureBody(journey: JourneyResult, attempt: AttemptResult): string {
  const details = renderFailureDetails(attempt, plain);
  // A journey-wide deadline has no failing step; the file is then the only location there is.
  return failedStepOf(attempt) || attempt.failure?.location ? details : [journey.file, details].filter(Boolean).join('\n');
}

function stepLines(attempt: AttemptResult): string {
  return attempt.steps.map((step) => renderStepLine(step, plain)).join('\n');
}

function outcomeAttributes(attempt: AttemptResult): XmlAttributes {
  const failure = attempt.failure ?? failedStepOf(attempt)?.failure;
  return {
    message: junitAttribute(failure?.message ?? `attempt ${attempt.attempt} ${attempt.status}`),
    type: junitAttribute(failure?.code ?? attempt.status),
  };
}

/** Surefire puts a retried attempt's detail in <stackTrace> and its output beside it. */
function retriedAttempt(name: string, journey: JourneyResult, attempt: AttemptResult): XmlElement {
  const children = [textElement('stackTrace', failureBody(journey, attempt))];
  const steps = stepLines(attempt);
  if (steps) children.push(textElement('system-out', steps));
  return element(name, outcomeAttributes(attempt), children);
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

function testcase(journey: JourneyResult): XmlElement {
  const children: XmlElement[] = [];
  const last = lastAttempt(journey);
  const earlier = journey.attempts.filter((attempt) => attempt !== last && attempt.status !== 'passed');

  if (journey.status === 'failed' || journey.status === 'error') {
    const name = journey.status === 'failed' ? 'failure' : 'error';
    if (last) children.push(textElement(name, failureBody(journey, last), outcomeAttributes(last)));
    else children.push(element(name, { message: 'no attempt was recorded', type: journey.status }));
    for (const attempt of earlier) children.push(retriedAttempt(`rerun${outcomeOf(attempt)}`, journey, attempt));
  } else if (journey.status === 'flaky') {
    for (const attempt of earlier) children.push(retriedAttempt(`flaky${outcomeOf(attempt)}`, journey, attempt));
  }

  // Jenkins and GitLab pick up attachments from this line form in system-out.
  const attachments = journey.attempts.flatMap((attempt) => attempt.attachments ?? []).map((file) => `[[ATTACHMENT|${file.path}]]`);
  const out = [systemOut(journey), ...attachments].filter(Boolean).join('\n');
  if (out) children.push(textElement('system-out', out));
  const cleanupErrors = journey.attempts.flatMap((attempt) => attempt.cleanupErrors);
  if (cleanupErrors.length > 0) children.push(textElement('system-err', cleanupErrors.join('\n')));
  return element('testcase', { name: junitAttribute(journey.name), classname: junitAttribute(journey.file), time: seconds(journey.durationMs) }, children);
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
  const suites = [...byFile(result.journeys)].map(([file, journeys]) => {
    const counts = tally(journeys);
    return element(
      'testsuite',
      {
        name: junitAttribute(file),
        tests: counts.tests,
        failures: counts.failures,
        errors: counts.errors,
        skipped: 0,
        time: seconds(journeys.reduce((sum, journey) => sum + journey.durationMs, 0)),
        timestamp: journeys.map((journey) => journey.startedAt).sort()[0] ?? result.startedAt,
      },
      journeys.map(testcase),
    );
  });
  const root = element(
    'testsuites',
    { name: 'ceiling', tests: total.tests, failures: total.failures, errors: total.errors, time: seconds(result.durationMs) },
    suites,
  );
  return `${serializeXmlDocument(root)}\n`;
}

export class JunitReporter implements Reporter {
  readonly name = 'junit';

  constructor(private readonly target: OutputTarget) {}

  onRunEnd(result: RunResult): Promise<void> {
    return writeOutput(this.target, renderJunit(result));
  }
}
