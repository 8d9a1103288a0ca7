import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { renderGateSummary } from '../../src/gate/render-console.js';
import { renderGateJUnit } from '../../src/gate/render-junit.js';
import { writeVerdictFile } from '../../src/gate/verdict-file.js';
import {
  failedRollbackResult,
  failResult,
  inconclusiveResult,
  latencyComparison,
  latencyRegressionResult,
  passResult,
  targetOutcome,
  versionMismatchResult,
} from './gate-fixture.js';

const plain = { color: false } as const;
const ANSI = /\u001b\[/;

describe('renderGateSummary', () => {
  it('puts the verdict and its reason on the first line', () => {
    const firstLine = renderGateSummary(failResult(), plain).split('\n')[0];
    expect(firstLine).toBe('✗ FAIL: target chat-2: journey "chat announces who left", step "bob leaves": no message matched within 2s');
    expect(renderGateSummary(passResult(), plain).split('\n')[0]).toBe('✓ PASS: every target stayed green for 3 rounds');
    expect(renderGateSummary(inconclusiveResult(), plain).split('\n')[0]).toMatch(/^\? INCONCLUSIVE: every check on every target failed at DNS/);
  });

  it('renders a failed gate with a failed rollback in full, loudly', () => {
    expect(renderGateSummary(failedRollbackResult(), plain)).toBe(
      [
        '✗ FAIL: target chat-2: journey "chat announces who left", step "bob leaves": no message matched within 2s',
        '2 rounds · 2 targets · expected version 1.4.2 · exit code 1',
        '',
        'target  version                 status  clean rounds',
        'chat-1  1.4.2                   passed  2',
        'chat-2  1.4.1 (expected 1.4.2)  failed  0',
        '',
        'findings',
        '  chat-2',
        '    version [critical]: CEIL_GATE_VERSION target chat-2 runs 1.4.1, expected 1.4.2',
        '    chat announces who left › bob leaves [critical]: CEIL_WS_EXPECT_TIMEOUT no message matched within 2s: expected {"type":"left","nick":"bob"} (rounds 1, 2)',
        '',
        'latency: 1 step compared, baseline from baseline.json (30 samples); none slower',
        '',
        'detected in 12.3s',
        'ROLLBACK FAILED (exit 3)',
        '  command: ./rollback.sh 1.4.1',
        '  ran for: 900ms',
        '  output:',
        '    │ kubectl: error: deployment "chat" not found',
        '    │ rollback aborted',
        '  the release the gate failed may still be serving: roll it back by hand',
        'recovery: NOT recovered within 2.0m (4 rounds)',
        '',
      ].join('\n'),
    );
  });

  it('reports a rollback that worked and the time to recover in one line each', () => {
    const text = renderGateSummary(failResult(), plain);
    expect(text).toContain('\ndetected in 12.3s\nrollback ./rollback.sh 1.4.1 exited 0 in 2.10s\nrecovery: green again 8.40s after the verdict (1 round)\n');
    expect(text).not.toContain('ROLLBACK FAILED');
  });

  it('names a rollback killed by a signal, and keeps only the end of long output', () => {
    const result = failedRollbackResult();
    result.rollback = {
      ...result.rollback!,
      exitCode: null,
      signal: 'SIGKILL',
      output: Array.from({ length: 100 }, (_, index) => `line ${index + 1}`).join('\n'),
    };
    const text = renderGateSummary(result, plain);
    expect(text).toContain('ROLLBACK FAILED (killed by SIGKILL)');
    expect(text).toContain('│ … (60 earlier lines)');
    expect(text).toContain('│ line 100');
    expect(text).not.toContain('│ line 60\n');
  });

  it('shows latency regressions as median before → after, ratio and p', () => {
    const text = renderGateSummary(latencyRegressionResult(), plain);
    expect(text).toContain(
      'latency: 2 steps compared, baseline from baseline.json (30 samples); 1 slower\n  chat-1 › chat announces who left › bob leaves: median 40ms → 103ms (×2.58, p=0.003)',
    );
  });

  it('flags a target that runs another version than the one expected', () => {
    expect(renderGateSummary(versionMismatchResult(), plain)).toContain('chat-2  1.4.1 (expected 1.4.2)  failed  0');
  });

  it('lists only the steps that got slower', () => {
    const result = passResult();
    result.latency = [latencyComparison({ step: 'quiet step' })];
    const text = renderGateSummary(result, plain);
    expect(text).toContain('latency: 1 step compared');
    expect(text).not.toContain('quiet step');
  });

  it('says when latency was not checked', () => {
    expect(renderGateSummary(inconclusiveResult(), plain)).toContain('\nlatency not checked: no baseline\n');
  });

  it('has no ANSI codes without colour, and strips the ones services sent', () => {
    const result = failedRollbackResult();
    result.reason = 'step failed: \u001b[31mred\u001b[0m \u001b]0;title\u0007done';
    result.rollback!.output = '\u001b[2Jwiped';
    const text = renderGateSummary(result, plain);
    expect(text).not.toMatch(ANSI);
    expect(text).not.toContain('\u0007');
    expect(text).toContain('step failed: red done');
    expect(text).toContain('│ wiped');
    expect(renderGateSummary(result, { color: true })).toMatch(ANSI);
  });
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  textNodeName: '#text',
});

interface ParsedOutcome {
  message: string;
  type: string;
  '#text'?: string;
  stackTrace?: string;
}
interface ParsedCase {
  name: string;
  classname: string;
  failure?: ParsedOutcome;
  error?: ParsedOutcome;
  flakyFailure?: ParsedOutcome;
  'system-out'?: string;
}
interface ParsedSuite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  properties: { property: { name: string; value: string }[] };
  testcase: ParsedCase[];
}
interface ParsedReport {
  testsuites: { tests: string; failures: string; errors: string; testsuite: ParsedSuite[] };
}

function parseJUnit(xml: string): ParsedReport {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml) as ParsedReport;
}

const suiteNamed = (report: ParsedReport, name: string): ParsedSuite => {
  const suite = report.testsuites.testsuite.find((candidate) => candidate.name === name);
  if (!suite) throw new Error(`no testsuite "${name}" in ${report.testsuites.testsuite.map((candidate) => candidate.name).join(', ')}`);
  return suite;
};
const caseNamed = (suite: ParsedSuite, name: string): ParsedCase => {
  const testcase = suite.testcase.find((candidate) => candidate.name === name);
  if (!testcase) throw new Error(`no testcase "${name}" in ${suite.name}`);
  return testcase;
};
const property = (suite: ParsedSuite, name: string): string | undefined => suite.properties.property.find((entry) => entry.name === name)?.value;

describe('renderGateJUnit', () => {
  it('has one suite per target, labelled by target, with the verdict and version as properties', () => {
    const report = parseJUnit(renderGateJUnit(failResult()));
    expect(report.testsuites.testsuite.map((suite) => suite.name)).toEqual(['target chat-1', 'target chat-2', 'gate']);
    const chat2 = suiteNamed(report, 'target chat-2');
    expect(property(chat2, 'verdict')).toBe('fail');
    expect(property(chat2, 'version')).toBe('1.4.1');
    expect(property(chat2, 'expectedVersion')).toBe('1.4.2');
  });

  it('fails the journey that failed and the stale version, with target.journey classnames', () => {
    const chat2 = suiteNamed(parseJUnit(renderGateJUnit(failResult())), 'target chat-2');
    const journey = caseNamed(chat2, 'chat announces who left');
    expect(journey.classname).toBe('chat-2.chat announces who left');
    expect(journey.failure?.type).toBe('CEIL_WS_EXPECT_TIMEOUT');
    expect(journey.failure?.['#text']).toContain('rounds 1, 2: chat announces who left › bob leaves: CEIL_WS_EXPECT_TIMEOUT');
    expect(caseNamed(chat2, 'a dropped secret reads back once').failure).toBeUndefined();
    const version = caseNamed(chat2, 'version');
    expect(version.failure?.message).toBe('target chat-2 runs 1.4.1, expected 1.4.2');
    expect(version['system-out']).toBe('runs 1.4.1 (expected 1.4.2)');
    expect(chat2).toMatchObject({ tests: '3', failures: '2', errors: '0' });
  });

  it('fails a failed rollback and a fleet that did not recover, with the rollback output', () => {
    const report = parseJUnit(renderGateJUnit(failedRollbackResult()));
    const gate = suiteNamed(report, 'gate');
    const rollback = caseNamed(gate, 'rollback');
    expect(rollback.failure?.message).toBe('ROLLBACK FAILED (exit 3): ./rollback.sh 1.4.1 after 900ms');
    expect(rollback.failure?.['#text']).toContain('kubectl: error: deployment "chat" not found');
    expect(caseNamed(gate, 'recovery').failure?.message).toBe('NOT recovered within 2.0m (4 rounds)');
    expect(report.testsuites).toMatchObject({ tests: '9', failures: '4', errors: '0' });
  });

  it('passes a rollback that worked', () => {
    const rollback = caseNamed(suiteNamed(parseJUnit(renderGateJUnit(failResult())), 'gate'), 'rollback');
    expect(rollback.failure).toBeUndefined();
    expect(rollback['system-out']).toContain('rollback ./rollback.sh 1.4.1 exited 0 in 2.10s');
  });

  it('has a latency testcase per compared step, failing the regressed one', () => {
    const chat1 = suiteNamed(parseJUnit(renderGateJUnit(latencyRegressionResult())), 'target chat-1');
    const slower = caseNamed(chat1, 'latency › bob leaves');
    expect(slower.classname).toBe('chat-1.chat announces who left');
    expect(slower.failure?.type).toBe('CEIL_GATE_LATENCY');
    expect(slower.failure?.message).toContain('median 40ms → 103ms (×2.58, p=0.003)');
    expect(caseNamed(chat1, 'latency › create').failure).toBeUndefined();
    // The latency finding is told by its testcase, not repeated as a catch-all one.
    expect(chat1.testcase.map((testcase) => testcase.name)).toEqual([
      'version',
      'chat announces who left',
      'a dropped secret reads back once',
      'latency › bob leaves',
      'latency › create',
    ]);
  });

  it('reports a check that could not be made as an error, and a flaky pass as flakyFailure', () => {
    const inconclusive = suiteNamed(parseJUnit(renderGateJUnit(inconclusiveResult())), 'target chat-1');
    expect(caseNamed(inconclusive, 'chat announces who left').error?.type).toBe('CEIL_DNS_LOOKUP');
    expect(inconclusive).toMatchObject({ failures: '0', errors: '1' });

    const flaky = passResult();
    flaky.targets[0] = targetOutcome({ name: 'chat-1', journeys: [{ name: 'chat announces who left', status: 'flaky', durationMs: 900 }] });
    flaky.findings = [
      {
        kind: 'flaky',
        target: 'chat-1',
        journey: 'chat announces who left',
        code: 'CEIL_GATE_FLAKY',
        message: 'passed only after 1 retry',
        critical: false,
        round: 2,
      },
    ];
    const testcase = caseNamed(suiteNamed(parseJUnit(renderGateJUnit(flaky)), 'target chat-1'), 'chat announces who left');
    expect(testcase.failure).toBeUndefined();
    expect(testcase.flakyFailure?.stackTrace).toContain('passed only after 1 retry');
  });

  it('stays valid XML when names and messages carry markup and control characters', () => {
    const result = failResult();
    result.targets[1]!.name = 'chat-2 <"&">';
    result.findings = result.findings.map((finding) => ({ ...finding, target: 'chat-2 <"&">', message: 'bad \u0000 byte &nbsp; <b>bold</b>' }));
    const report = parseJUnit(renderGateJUnit(result));
    const suite = suiteNamed(report, 'target chat-2 <"&">');
    expect(caseNamed(suite, 'chat announces who left').failure?.message).toBe('bad byte &nbsp; <b>bold</b>');
  });

  it('stays a valid, empty report when a target reported no version and ran no journey', () => {
    const result = passResult();
    result.targets = [targetOutcome({ name: 'chat-1', version: undefined, journeys: [] })];
    result.latency = [];
    const report = parseJUnit(renderGateJUnit(result));
    expect(report.testsuites.tests).toBe('0');
  });
});

describe('writeVerdictFile', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes the result as pretty JSON, creating folders, leaving no staging file behind', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ceiling-verdict-'));
    const file = path.join(dir, 'out', 'nested', 'verdict.json');
    const result = failedRollbackResult();
    await writeVerdictFile(file, result);
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text)).toEqual(result);
    expect(text).toContain('\n  "verdict": "fail",\n');
    expect(await readdir(path.dirname(file))).toEqual(['verdict.json']);

    // A second verdict replaces the first whole.
    await writeVerdictFile(file, passResult());
    expect((JSON.parse(await readFile(file, 'utf8')) as { verdict: string }).verdict).toBe('pass');
  });
});

describe('the recovery line', () => {
  it('names the --recover-within window, not rounds times the round interval', async () => {
    const { describeRecovery } = await import('../../src/gate/render-common.js');
    const policy = { everyMs: 30_000 } as Parameters<typeof describeRecovery>[1];
    expect(describeRecovery({ recovered: false, rounds: 1, withinMs: 3_000 }, policy)).toBe('NOT recovered within 3.00s (1 round)');
  });
});
