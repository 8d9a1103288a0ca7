import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { RunResult } from '../../src/core/result.js';
import { JsonReporter, renderJson } from '../../src/report/json.js';
import { captureStream, failedEveryRetry, failedJourney, flakyJourney, passedJourney, runResult } from './report-fixture.js';

const fullRun = (): RunResult => runResult([passedJourney(), failedJourney(), flakyJourney(), failedEveryRetry()]);

describe('renderJson', () => {
  test('round-trips the result model', () => {
    const result = fullRun();
    expect(JSON.parse(renderJson(result))).toEqual(result);
  });

  test('is the result model, pretty, ending with a newline', () => {
    const result = fullRun();
    const text = renderJson(result);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{\n  "schemaVersion": 1,\n  "tool": {')).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(result)));
  });

  test('leaves absent optional fields absent', () => {
    const parsed = JSON.parse(renderJson(runResult([passedJourney()]))) as RunResult;
    expect('failure' in parsed.journeys[0]!.attempts[0]!).toBe(false);
  });
});

describe('JsonReporter', () => {
  let directory = '';
  afterEach(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  test('writes to a path, creating the parent directories', async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'ceiling-json-'));
    const file = path.join(directory, 'nested', 'deeper', 'results.json');
    const result = fullRun();
    await new JsonReporter({ path: file, stdout: captureStream().stream }).onRunEnd(result);
    expect(await readFile(file, 'utf8')).toBe(renderJson(result));
  });

  test('writes to stdout when no path is given', async () => {
    const stdout = captureStream();
    const result = fullRun();
    await new JsonReporter({ stdout: stdout.stream }).onRunEnd(result);
    expect(stdout.text()).toBe(renderJson(result));
  });
});
