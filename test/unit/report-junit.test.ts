import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, test } from 'vitest';
import type { FailureInfo } from '../../src/core/result.js';
import { JunitReporter, renderJunit } from '../../src/report/junit.js';
import {
  brokenAttempt,
  captureStream,
  erroredJourney,
  failedEveryRetry,
  failedJourney,
  flakyJourney,
  journeyResult,
  passedJourney,
  runResult,
  stepResult,
} from './report-fixture.js';

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  textNodeName: 'text',
  isArray: (name) => ['testsuite', 'testcase', 'rerunFailure', 'rerunError', 'flakyFailure', 'flakyError'].includes(name),
});

function parse(xml: string): { suites: Node; testcases: Node[] } {
  expect(XMLValidator.validate(xml)).toBe(true);
  const suites = (parser.parse(xml) as { testsuites: Node }).testsuites;
  const testcases = ((suites.testsuite as Node[] | undefined) ?? []).flatMap((suite) => suite.testcase as Node[]);
  return { suites, testcases };
}

// Independent of the code under test: the XML 1.0 Char production, checked code point by code point.
function invalidXmlChars(text: string): string[] {
  const bad: string[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const valid = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || code >= 0x10000;
    if (!valid || (char.length === 1 && code >= 0xd800 && code <= 0xdfff)) bad.push(`U+${code.toString(16)}`);
  }
  return bad;
}

describe('renderJunit', () => {
  test('counts tests, failures and errors on testsuites and per file', () => {
    const { suites } = parse(renderJunit(runResult([passedJourney(), failedJourney(), erroredJourney(), flakyJourney(), failedEveryRetry()])));
    expect(suites).toMatchObject({ name: 'ceiling', tests: '5', failures: '2', errors: '1', time: '1.234' });
    const perFile = (suites.testsuite as Node[]).map((suite) => [suite.name, suite.tests, suite.failures, suite.errors]);
    expect(perFile).toEqual([
      ['journeys/chat-leave.yaml', '1', '0', '0'],
      ['journeys/secret-roundtrip.yaml', '3', '2', '1'],
      ['journeys/comments.yaml', '1', '0', '0'],
    ]);
  });

  test('names testcases after journeys and classes after files, with time in seconds', () => {
    const { testcases } = parse(renderJunit(runResult([passedJourney()])));
    expect(testcases[0]).toMatchObject({ name: 'chat announces who left', classname: 'journeys/chat-leave.yaml', time: '0.412' });
    expect(testcases[0]!.failure).toBeUndefined();
    expect(testcases[0]!.error).toBeUndefined();
    expect(testcases[0]!['system-out']).toBe('pass  create (20ms)\npass  read back (20ms)');
  });

  test('an assertion mismatch is a failure with the code as type and the step, location, expected and actual in the body', () => {
    const { testcases } = parse(renderJunit(runResult([failedJourney()])));
    const testcase = testcases[0]!;
    expect(testcase.error).toBeUndefined();
    const failure = testcase.failure as Node;
    expect(failure).toMatchObject({ message: 'json.value differs from what was stored', type: 'CEIL_EXPECT_JSON' });
    expect(failure.text).toContain('journeys/secret-roundtrip.yaml:10:5 › read back');
    expect(failure.text).toContain('assertion CEIL_EXPECT_JSON');
    expect(failure.text).toContain('expected: {"value":"abc"}');
    expect(failure.text).toContain('actual:   {"value":"xyz"}');
  });

  test('a connect failure is an error, not a failure', () => {
    const { testcases } = parse(renderJunit(runResult([erroredJourney()])));
    expect(testcases[0]!.failure).toBeUndefined();
    expect(testcases[0]!.error).toMatchObject({ type: 'CEIL_CONNECT_REFUSED', message: 'connect ECONNREFUSED 127.0.0.1:4001' });
    expect((testcases[0]!.error as Node).text).toContain('connect CEIL_CONNECT_REFUSED');
  });

  test('every non-assertion class is an error', () => {
    const classes: FailureInfo['class'][] = ['timeout', 'connect', 'dns', 'tls', 'protocol', 'config', 'interrupted'];
    const journeys = classes.map((failureClass) =>
      journeyResult({
        name: failureClass,
        status: 'error',
        attempts: [brokenAttempt(1, { class: failureClass, code: `CEIL_${failureClass.toUpperCase()}`, message: failureClass })],
      }),
    );
    const { suites, testcases } = parse(renderJunit(runResult(journeys)));
    expect(suites).toMatchObject({ failures: '0', errors: String(classes.length) });
    for (const testcase of testcases) expect(testcase.error).toBeDefined();
  });

  test('a flaky journey passes but carries a flakyFailure per failed attempt', () => {
    const { suites, testcases } = parse(renderJunit(runResult([flakyJourney()])));
    expect(suites).toMatchObject({ tests: '1', failures: '0', errors: '0' });
    const testcase = testcases[0]!;
    expect(testcase.failure).toBeUndefined();
    expect(testcase.error).toBeUndefined();
    const flaky = testcase.flakyFailure as Node[];
    expect(flaky).toHaveLength(1);
    expect(flaky[0]).toMatchObject({ type: 'CEIL_EXPECT_JSON' });
    expect(flaky[0]!.stackTrace).toContain('journeys/secret-roundtrip.yaml:10:5 › read back');
  });

  test('a flaky journey whose retry was an error carries a flakyError', () => {
    const journey = journeyResult({
      name: 'reconnects',
      status: 'flaky',
      attempts: [brokenAttempt(1, { class: 'timeout', code: 'CEIL_TIMEOUT', message: 'no answer within 2s' }), ...flakyJourney().attempts.slice(1)],
    });
    const { testcases } = parse(renderJunit(runResult([journey])));
    expect(testcases[0]!.flakyError).toEqual([expect.objectContaining({ type: 'CEIL_TIMEOUT' })]);
    expect(testcases[0]!.flakyFailure).toBeUndefined();
  });

  test('a journey that failed every retry has a failure for the last attempt and reruns for the earlier ones', () => {
    const { testcases } = parse(renderJunit(runResult([failedEveryRetry()])));
    const testcase = testcases[0]!;
    expect(testcase.failure).toMatchObject({ type: 'CEIL_EXPECT_JSON' });
    expect(testcase.rerunError).toEqual([expect.objectContaining({ type: 'CEIL_CONNECT_REFUSED' })]);
    expect(testcase.rerunFailure).toEqual([expect.objectContaining({ type: 'CEIL_EXPECT_JSON' })]);
    expect(testcase['system-out']).toContain('attempt 1: error');
  });

  test('stays valid XML when text holds ANSI escapes, control characters, lone surrogates and markup', () => {
    const nasty =
      'red \u001b[31mALERT\u001b[0m nul\u0000 bell\u0007 bs\u0008 vt\u000b ff\u000c us\u001f lone\ud800 low\udc00 bad\ufffe repl\ufffd cdata]]> <tag a="1"> &amp; \'quote\' "dq" refs &nbsp; &#0; &#x1; emoji 😀';
    const failure: FailureInfo = { class: 'assertion', code: 'CEIL_<code>&', message: nasty, expected: nasty, actual: { body: nasty }, hint: nasty };
    const attempt = brokenAttempt(1, failure);
    attempt.steps[1] = stepResult({ index: 1, name: `step ${nasty}`, status: 'failed', failure });
    attempt.cleanupErrors = [nasty];
    const journey = journeyResult({ name: `journey ${nasty}`, file: `journeys/${nasty}.yaml`, status: 'failed', attempts: [attempt] });
    const flaky = journeyResult({ name: 'flaky', status: 'flaky', attempts: [attempt, ...flakyJourney().attempts.slice(1)] });

    const xml = renderJunit(runResult([journey, flaky]));
    expect(invalidXmlChars(xml)).toEqual([]);
    expect(xml).not.toContain('\u001b');
    // XMLValidator accepts undeclared entities and illegal character references; a CI server's parser does not.
    expect(xml).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos);)/);
    const { testcases } = parse(xml);
    const failed = testcases[0]!;
    const message = (failed.failure as Node).message as string;
    expect(message).toContain('red ALERT');
    expect(message).toContain('cdata]]> <tag a="1"> &amp; \'quote\' "dq"');
    expect(message).toContain('refs &nbsp; &#0; &#x1;');
    expect(message).toContain('repl\ufffd');
    expect(message).toContain('emoji 😀');
    expect((failed.failure as Node).type).toBe('CEIL_<code>&');
    expect(failed.name).toContain('journey red ALERT');
    expect(failed['system-err']).toContain('cdata]]>');
  });

  test('an empty run is still a valid report', () => {
    const { suites } = parse(renderJunit(runResult([], { status: 'nothing-tested' })));
    expect(suites).toMatchObject({ tests: '0', failures: '0', errors: '0' });
  });
});

describe('JunitReporter', () => {
  test('writes to a path, creating the parent directories', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'ceiling-junit-'));
    try {
      const file = path.join(directory, 'reports', 'junit.xml');
      const result = runResult([failedJourney()]);
      await new JunitReporter({ path: file, stdout: captureStream().stream }).onRunEnd(result);
      expect(await readFile(file, 'utf8')).toBe(renderJunit(result));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('writes to stdout when no path is given', async () => {
    const stdout = captureStream();
    await new JunitReporter({ stdout: stdout.stream }).onRunEnd(runResult([passedJourney()]));
    expect(stdout.text().startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')).toBe(true);
  });
});
