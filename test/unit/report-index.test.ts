import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConsoleReporter } from '../../src/report/console.js';
import { createReporter, parseReporterSpec, reporterNames, ReporterSpecError, type ReporterFactoryOptions } from '../../src/report/index.js';
import { JsonReporter } from '../../src/report/json.js';
import { JunitReporter } from '../../src/report/junit.js';
import { ANSI, captureStream, passedJourney, runResult, stepResult } from './report-fixture.js';

function parseError(spec: string): ReporterSpecError {
  try {
    parseReporterSpec(spec);
  } catch (error) {
    if (error instanceof ReporterSpecError) return error;
    throw error;
  }
  throw new Error(`"${spec}" parsed`);
}

describe('parseReporterSpec', () => {
  test('accepts every registered name, with a path where one applies', () => {
    expect(reporterNames).toEqual(['console', 'json', 'junit', 'github', 'html']);
    expect(parseReporterSpec('html')).toEqual({ name: 'html' });
    expect(parseReporterSpec('html=out/run.html')).toEqual({ name: 'html', path: 'out/run.html' });
    expect(parseReporterSpec('github')).toEqual({ name: 'github' });
    expect(() => parseReporterSpec('github=out.md')).toThrow(/takes no path/);
    expect(parseReporterSpec('console')).toEqual({ name: 'console' });
    expect(parseReporterSpec('json')).toEqual({ name: 'json' });
    expect(parseReporterSpec('json=out/run.json')).toEqual({ name: 'json', path: 'out/run.json' });
    expect(parseReporterSpec('junit')).toEqual({ name: 'junit' });
    expect(parseReporterSpec(' junit=reports/a=b.xml ')).toEqual({ name: 'junit', path: 'reports/a=b.xml' });
  });

  test('an unknown name is an error that lists the valid names and suggests the near one', () => {
    const error = parseError('jsno');
    expect(error.code).toBe('CEIL_REPORTER_UNKNOWN');
    expect(error.message).toContain('unknown reporter "jsno"');
    expect(error.message).toContain('console, json, junit');
    expect(error.message).toContain('did you mean "json"?');
    expect(parseError('junti=x.xml').message).toContain('did you mean "junit"?');
    expect(parseError('prometheus').message).not.toContain('did you mean');
    expect(parseError('').code).toBe('CEIL_REPORTER_UNKNOWN');
  });

  test('a path where none applies, or an empty one, is an error', () => {
    expect(parseError('console=out.txt').code).toBe('CEIL_REPORTER_PATH');
    expect(parseError('json=').message).toContain('json=PATH');
  });
});

describe('createReporter', () => {
  let outDir = '';
  beforeEach(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ceiling-reporters-'));
  });
  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  const options = (stdout = captureStream()): ReporterFactoryOptions => ({
    outDir,
    stdout: stdout.stream,
    stderr: captureStream().stream,
    isTTY: false,
    color: false,
  });

  test('builds each registered reporter', async () => {
    expect(await createReporter({ name: 'console' }, options())).toBeInstanceOf(ConsoleReporter);
    expect(await createReporter({ name: 'json' }, options())).toBeInstanceOf(JsonReporter);
    expect(await createReporter({ name: 'junit' }, options())).toBeInstanceOf(JunitReporter);
  });

  test('file reporters without a path write their default file under outDir', async () => {
    const result = runResult([passedJourney()]);
    await (await createReporter(parseReporterSpec('json'), options())).onRunEnd(result);
    await (await createReporter(parseReporterSpec('junit'), options())).onRunEnd(result);
    expect(JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8'))).toEqual(result);
    expect(await readFile(path.join(outDir, 'junit.xml'), 'utf8')).toContain('<testsuites name="ceiling"');
  });

  test('a given path is used as it is', async () => {
    const file = path.join(outDir, 'elsewhere', 'j.xml');
    await (await createReporter(parseReporterSpec(`junit=${file}`), options())).onRunEnd(runResult([]));
    expect(await readFile(file, 'utf8')).toContain('<testsuites');
  });

  test('"-" sends a file reporter to stdout', async () => {
    const stdout = captureStream();
    const result = runResult([passedJourney()]);
    await (await createReporter(parseReporterSpec('json=-'), options(stdout))).onRunEnd(result);
    expect(JSON.parse(stdout.text())).toEqual(result);
  });

  test('console follows the TTY and colour switches', async () => {
    const stdout = captureStream();
    const reporter = await createReporter({ name: 'console' }, { ...options(stdout), isTTY: true, color: true });
    reporter.onStepEnd?.({ name: 'j', file: 'j.yaml', attempt: 1 }, stepResult({ index: 0, name: 'create' }));
    expect(stdout.text()).toMatch(ANSI);
  });
});
