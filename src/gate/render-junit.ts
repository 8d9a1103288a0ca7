/**
 * The gate's verdict as JUnit XML (Surefire dialect), so a CI test tab lists
 * every check per target: one <testsuite> per target, a testcase per journey,
 * one for the version pin and one per latency comparison. A mismatch (wrong
 * version, failed assertion, slower step) is a <failure>; a check that could
 * not be made (timeout, DNS, unreadable version) is an <error>. Rollback and
 * recovery get a suite of their own, so a failed rollback fails the report.
 *
 * Test cases are built as plain data first and serialized afterwards, which
 * keeps the counts in the suite attributes honest.
 */
import { serializeXmlDocument, type XmlElement } from '../report/xml.js';
import { junitAttribute, junitText } from '../report/xml-text.js';
import type { GateFinding, GateResult, TargetOutcome } from './model.js';
import {
  describeFleetSize,
  describeFleetVersions,
  describeLatency,
  describeRecovery,
  describeRollback,
  describeRounds,
  describeVersion,
  durationSeconds,
  findingPlace,
  groupFindings,
  type FindingGroup,
} from './render-common.js';

interface CaseOutcome {
  element: 'failure' | 'error' | 'flakyFailure';
  message: string;
  type: string;
  body: string;
}

interface CaseSpec {
  classname: string;
  name: string;
  timeMs?: number;
  outcomes: CaseOutcome[];
  systemOut?: string;
}

interface SuiteSpec {
  name: string;
  timestamp: string;
  properties: [string, string][];
  cases: CaseSpec[];
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** Could not check (DNS, timeout, connect …) rather than checked and found wrong. */
const isError = (finding: GateFinding): boolean =>
  finding.kind === 'infrastructure' || (finding.failureClass !== undefined && finding.failureClass !== 'assertion');

function findingLine({ finding, rounds }: FindingGroup): string {
  const seen = describeRounds(rounds);
  return `${seen ? `${seen}: ` : ''}${findingPlace(finding)}: ${finding.code}: ${finding.message}`;
}

function outcomeFrom(element: CaseOutcome['element'], groups: readonly FindingGroup[], fallback: { message: string; type: string }): CaseOutcome {
  const first = groups[0]?.finding;
  return {
    element,
    message: first?.message ?? fallback.message,
    type: first?.code ?? fallback.type,
    body: groups.length > 0 ? groups.map(findingLine).join('\n') : fallback.message,
  };
}

function journeyCase(target: TargetOutcome, journey: TargetOutcome['journeys'][number], groups: readonly FindingGroup[], result: GateResult): CaseSpec {
  const spec: CaseSpec = { classname: `${target.name}.${journey.name}`, name: journey.name, timeMs: journey.durationMs, outcomes: [] };
  const fallback = {
    message: [journey.failedStep !== undefined ? `step "${journey.failedStep}"` : '', journey.message ?? `the journey ${journey.status}`]
      .filter(Boolean)
      .join(': '),
    type: journey.status,
  };
  if (journey.status === 'failed') spec.outcomes.push(outcomeFrom('failure', groups, fallback));
  else if (journey.status === 'error') spec.outcomes.push(outcomeFrom('error', groups, fallback));
  else if (journey.status === 'flaky') spec.outcomes.push(outcomeFrom(result.policy.failOnFlaky ? 'failure' : 'flakyFailure', groups, fallback));
  else if (groups.length > 0) spec.systemOut = groups.map(findingLine).join('\n');
  return spec;
}

function versionCase(target: TargetOutcome, groups: readonly FindingGroup[], result: GateResult): CaseSpec | undefined {
  if (target.version === undefined && groups.length === 0) return undefined;
  const spec: CaseSpec = { classname: `${target.name}.version`, name: 'version', outcomes: [] };
  if (target.version !== undefined) spec.systemOut = `runs ${describeVersion(target, result.expectedVersion)}`;
  const first = groups[0]?.finding;
  if (first) spec.outcomes.push(outcomeFrom(isError(first) ? 'error' : 'failure', groups, { message: first.message, type: first.code }));
  return spec;
}

function latencyCases(target: TargetOutcome, result: GateResult): CaseSpec[] {
  return result.latency
    .filter((comparison) => comparison.target === target.name)
    .map((comparison) => {
      const text = `${describeLatency(comparison)}; ${comparison.baselineSamples} baseline and ${comparison.currentSamples} current samples`;
      const spec: CaseSpec = { classname: `${target.name}.${comparison.journey}`, name: `latency › ${comparison.step}`, outcomes: [], systemOut: text };
      if (comparison.regressed)
        spec.outcomes.push({
          element: 'failure',
          message: `step "${comparison.step}" is slower than the baseline: ${describeLatency(comparison)}`,
          type: 'CEIL_GATE_LATENCY',
          body: text,
        });
      return spec;
    });
}

function targetSuite(target: TargetOutcome, result: GateResult, groups: readonly FindingGroup[]): SuiteSpec {
  const mine = groups.filter((group) => group.finding.target === target.name);
  const used = new Set<FindingGroup>();
  const take = (predicate: (finding: GateFinding) => boolean): FindingGroup[] => {
    const picked = mine.filter((group) => !used.has(group) && predicate(group.finding));
    for (const group of picked) used.add(group);
    return picked;
  };

  const cases: CaseSpec[] = [];
  const version = versionCase(
    target,
    take((finding) => finding.kind === 'version'),
    result,
  );
  if (version) cases.push(version);
  for (const journey of target.journeys) {
    // Latency findings have their own testcases below; the rest of a journey's findings explain its outcome.
    cases.push(
      journeyCase(
        target,
        journey,
        take((finding) => finding.journey === journey.name && finding.kind !== 'latency'),
        result,
      ),
    );
  }
  cases.push(...latencyCases(target, result));
  // A latency finding is told by its comparison's testcase; one without a comparison falls through to the catch-all.
  const compared = new Set(
    result.latency.filter((comparison) => comparison.target === target.name).map((comparison) => `${comparison.journey}\u0000${comparison.step}`),
  );
  take((finding) => finding.kind === 'latency' && compared.has(`${finding.journey ?? ''}\u0000${finding.step ?? ''}`));
  // Whatever no testcase above claimed (a finding about the target as a whole) still has to show up as a problem.
  for (const group of mine.filter((candidate) => !used.has(candidate))) {
    const { finding } = group;
    const element = isError(finding) ? 'error' : finding.kind === 'flaky' && !result.policy.failOnFlaky ? 'flakyFailure' : 'failure';
    cases.push({
      classname: `${target.name}.${finding.kind}`,
      name: findingPlace(finding),
      outcomes: [outcomeFrom(element, [group], { message: finding.message, type: finding.code })],
    });
  }

  const properties: [string, string][] = [
    ['target', target.name],
    ['status', target.status],
    ['cleanRounds', String(target.cleanRounds)],
    ['verdict', result.verdict],
  ];
  if (target.version !== undefined) properties.push(['version', target.version]);
  if (result.expectedVersion !== undefined) properties.push(['expectedVersion', result.expectedVersion]);
  return { name: `target ${target.name}`, timestamp: result.startedAt, properties, cases };
}

/** A discovery finding (wrong size, nothing found) is about the group, not one of its instances. */
const isFleetFinding = (finding: GateFinding): boolean => finding.kind === 'fleet' || finding.code.startsWith('CEIL_DISCOVERY_');

/**
 * One suite per discovered group: its size (a failure when it is not the
 * expected one, an error when discovery found nothing to judge) and, with a
 * version probe, what the instances run.
 */
function fleetSuites(result: GateResult, groups: readonly FindingGroup[]): SuiteSpec[] {
  const names = [
    ...new Set([
      ...(result.fleets ?? []).map((fleet) => fleet.group),
      ...groups.filter((group) => isFleetFinding(group.finding)).map((group) => group.finding.target),
    ]),
  ];
  return names.map((name) => {
    const fleet = result.fleets?.find((candidate) => candidate.group === name);
    const mine = groups.filter((group) => group.finding.target === name && isFleetFinding(group.finding));
    const size: CaseSpec = { classname: `${name}.fleet`, name: 'size', outcomes: [] };
    const first = mine[0]?.finding;
    if (first) size.outcomes.push(outcomeFrom(isError(first) ? 'error' : 'failure', mine, { message: first.message, type: first.code }));
    if (fleet) size.systemOut = `${describeFleetSize(fleet)}\n${fleet.instances.join('\n')}`;
    const cases = [size];
    if (fleet && fleet.versions.length > 0) cases.push({ classname: `${name}.fleet`, name: 'versions', outcomes: [], systemOut: describeFleetVersions(fleet) });
    const properties: [string, string][] = [
      ['group', name],
      ['verdict', result.verdict],
    ];
    if (fleet) properties.push(['found', String(fleet.found)]);
    if (fleet?.expected)
      properties.push([
        'count' in fleet.expected ? 'expectedCount' : 'expectedMin',
        String('count' in fleet.expected ? fleet.expected.count : fleet.expected.min),
      ]);
    return { name: `fleet ${name}`, timestamp: result.startedAt, properties, cases };
  });
}

function gateSuite(result: GateResult): SuiteSpec | undefined {
  const cases: CaseSpec[] = [];
  const { rollback, recovery } = result;
  if (rollback) {
    const spec: CaseSpec = { classname: `${result.command}.rollback`, name: 'rollback', timeMs: rollback.durationMs, outcomes: [] };
    if (rollback.ok) spec.systemOut = `${describeRollback(rollback)}\n${rollback.output}`;
    else
      spec.outcomes.push({
        element: 'failure',
        message: describeRollback(rollback),
        type: 'CEIL_GATE_ROLLBACK_FAILED',
        body: rollback.output || '(no output)',
      });
    cases.push(spec);
  }
  if (recovery) {
    const text = describeRecovery(recovery, result.policy);
    const spec: CaseSpec = { classname: `${result.command}.recovery`, name: 'recovery', outcomes: [] };
    if (recovery.timeToRecoverMs !== undefined) spec.timeMs = recovery.timeToRecoverMs;
    if (recovery.recovered) spec.systemOut = text;
    else spec.outcomes.push({ element: 'failure', message: text, type: 'CEIL_GATE_NOT_RECOVERED', body: text });
    cases.push(spec);
  }
  if (cases.length === 0) return undefined;
  const properties: [string, string][] = [
    ['verdict', result.verdict],
    ['exitCode', String(result.exitCode)],
    ['reason', result.reason],
  ];
  if (result.timeToDetectMs !== undefined) properties.push(['timeToDetectMs', String(result.timeToDetectMs)]);
  return { name: result.command, timestamp: result.finishedAt, properties, cases };
}

interface Tally {
  tests: number;
  failures: number;
  errors: number;
}

function tally(cases: readonly CaseSpec[]): Tally {
  return {
    tests: cases.length,
    failures: cases.filter((spec) => spec.outcomes.some((outcome) => outcome.element === 'failure')).length,
    errors: cases.filter((spec) => spec.outcomes.some((outcome) => outcome.element === 'error')).length,
  };
}

function testcase(spec: CaseSpec): XmlElement {
  const children: XmlElement[] = spec.outcomes.map((outcome) => {
    const attributes = { message: junitAttribute(outcome.message), type: junitAttribute(outcome.type) };
    const body = { text: junitText(outcome.body) };
    // Surefire keeps a flaky attempt's detail in <stackTrace>; failure and error carry it as their text.
    if (outcome.element === 'flakyFailure') return { name: outcome.element, attributes, children: [{ name: 'stackTrace', children: [body] }] };
    return { name: outcome.element, attributes, children: [body] };
  });
  if (spec.systemOut) children.push({ name: 'system-out', children: [{ text: junitText(spec.systemOut) }] });
  return {
    name: 'testcase',
    attributes: { name: junitAttribute(spec.name), classname: junitAttribute(spec.classname), time: seconds(spec.timeMs ?? 0) },
    children,
  };
}

function testsuite(spec: SuiteSpec): XmlElement {
  const counts = tally(spec.cases);
  const properties: XmlElement = {
    name: 'properties',
    children: spec.properties.map(([name, value]) => ({ name: 'property', attributes: { name, value: junitAttribute(value) } })),
  };
  return {
    name: 'testsuite',
    attributes: {
      name: junitAttribute(spec.name),
      tests: counts.tests,
      failures: counts.failures,
      errors: counts.errors,
      skipped: 0,
      time: seconds(spec.cases.reduce((sum, testcase) => sum + (testcase.timeMs ?? 0), 0)),
      timestamp: spec.timestamp,
    },
    children: [properties, ...spec.cases.map(testcase)],
  };
}

export function renderGateJUnit(result: GateResult): string {
  const groups = groupFindings(result.findings);
  const suites = [...fleetSuites(result, groups), ...result.targets.map((target) => targetSuite(target, result, groups))];
  const extra = gateSuite(result);
  if (extra) suites.push(extra);

  const total = tally(suites.flatMap((suite) => suite.cases));
  const root: XmlElement = {
    name: 'testsuites',
    attributes: {
      name: `ceiling ${result.command}`,
      tests: total.tests,
      failures: total.failures,
      errors: total.errors,
      time: durationSeconds(result).toFixed(3),
      timestamp: result.startedAt,
    },
    children: suites.map(testsuite),
  };
  return `${serializeXmlDocument(root)}\n`;
}
