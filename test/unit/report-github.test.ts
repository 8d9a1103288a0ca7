import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GithubReporter, renderRunAnnotations, renderRunSummary } from '../../src/report/github.js';
import { workspacePath } from '../../src/report/github-text.js';
import { captureStream, erroredJourney, failedJourney, flakyJourney, journeyResult, passedAttempt, passedJourney, runResult } from './report-fixture.js';

const WORKSPACE = '/repo';

describe('renderRunAnnotations', () => {
  it('one ::error per failed or errored journey at its failing step, a ::warning per flaky one, nothing for a pass', () => {
    const lines = renderRunAnnotations(runResult([passedJourney(), failedJourney(), erroredJourney(), flakyJourney()]), WORKSPACE, WORKSPACE);
    expect(lines).toEqual([
      '::error file=journeys/secret-roundtrip.yaml,line=10,col=5,title=a dropped secret reads back once › read back::CEIL_EXPECT_JSON: json.value differs from what was stored%0Athe service returned another secret; check the id capture',
      '::error file=journeys/secret-roundtrip.yaml,line=10,col=5,title=dead drop is reachable › read back::CEIL_CONNECT_REFUSED: connect ECONNREFUSED 127.0.0.1:4001%0Ais the dead-drop service running?',
      '::warning file=journeys/secret-roundtrip.yaml,line=10,col=5,title=flaky%3A comments render › read back::CEIL_EXPECT_JSON: json.value differs from what was stored (passed on attempt 2)%0Athe service returned another secret; check the id capture',
    ]);
  });

  it('a flaky journey is an error when --fail-on-flaky made it fail the run', () => {
    const [line] = renderRunAnnotations(runResult([flakyJourney()], { failOnFlaky: true }), WORKSPACE, WORKSPACE);
    expect(line).toMatch(/^::error /);
  });

  it('user text cannot end the command or add properties; a file outside the workspace is left out', () => {
    const journey = failedJourney();
    journey.name = 'a, b: c\nd';
    journey.attempts[0]!.steps[1]!.location.file = '/elsewhere/x.yaml';
    // The fixture's failure object is shared between tests: replace it, never edit it.
    journey.attempts[0]!.failure = { ...journey.attempts[0]!.failure!, message: '100% wrong\r\n::error::injected' };
    const [line] = renderRunAnnotations(runResult([journey]), WORKSPACE, WORKSPACE);
    expect(line).toBe(
      '::error line=10,col=5,title=a%2C b%3A c%0Ad › read back::CEIL_EXPECT_JSON: 100%25 wrong%0D%0A::error::injected%0Athe service returned another secret; check the id capture',
    );
    expect(line!.split('\n')).toHaveLength(1);
  });
});

describe('workspacePath', () => {
  it('is relative with forward slashes inside the workspace, absent outside it', () => {
    expect(workspacePath('journeys/a.yaml', '/repo', '/repo/sub')).toBe('sub/journeys/a.yaml');
    expect(workspacePath('/repo/journeys/a.yaml', '/repo')).toBe('journeys/a.yaml');
    expect(workspacePath('/other/a.yaml', '/repo')).toBeUndefined();
  });
});

describe('renderRunSummary', () => {
  it('a title, the counts, and a table with failures first: journey, failing step, reason', () => {
    const markdown = renderRunSummary(runResult([passedJourney(), failedJourney(), flakyJourney()]), { workspace: WORKSPACE, cwd: WORKSPACE });
    expect(markdown).toContain('## ❌ ceiling run: FAILED\n\n3 journeys: 1 passed · 1 failed · 0 errored · 1 flaky');
    const rows = markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| ---') && !line.startsWith('| Status'));
    expect(rows[0]).toBe(
      '| ❌ failed | a dropped secret reads back once | 2. read back (journeys/secret-roundtrip.yaml:10) | `CEIL_EXPECT_JSON` json.value differs from what was stored | 88ms |',
    );
    expect(rows[1]).toMatch(/^\| ⚠️ flaky \| comments render \| 2\. read back/);
    expect(rows[2]).toMatch(/^\| ✅ passed \| chat announces who left \| {2}\| {2}\|/);
  });

  it('escapes markup in names and messages, and cuts long tables with a pointer to the full report', () => {
    const many = Array.from({ length: 60 }, (_, index) => journeyResult({ name: `j${index} <b>|x|</b>`, status: 'passed', attempts: [passedAttempt()] }));
    const markdown = renderRunSummary(runResult(many), { workspace: WORKSPACE });
    expect(markdown).toContain('j0 &lt;b&gt;\\|x\\|&lt;/b&gt;');
    expect(markdown).not.toContain('<b>');
    expect(markdown).toContain('…and 10 more in the JSON or JUnit report.');
  });
});

describe('GithubReporter', () => {
  it('appends the summary after a blank line and writes the annotations to stdout', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ceiling-github-'));
    try {
      const summaryFile = path.join(dir, 'summary.md');
      await writeFile(summaryFile, 'earlier');
      const out = captureStream();
      await new GithubReporter(out.stream, { summaryFile, workspace: process.cwd() }).onRunEnd(runResult([failedJourney()]));
      expect(await readFile(summaryFile, 'utf8')).toMatch(/^earlier\n\n## ❌ ceiling run: FAILED/);
      expect(out.text()).toMatch(/^::error file=journeys\/secret-roundtrip\.yaml,line=10,/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
