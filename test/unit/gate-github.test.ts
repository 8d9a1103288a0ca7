import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderAnnotations, renderStepSummary } from '../../src/gate/render-github.js';
import { escapeCommandData, escapeCommandProperty, escapeMarkdown, escapeTableCell, writeStepSummary } from '../../src/report/github-text.js';
import { bobLeavesFinding, failedRollbackResult, failResult, inconclusiveResult, latencyRegressionResult, passResult } from './gate-fixture.js';

/** Cells of a GFM table row: split on pipes that are not backslash-escaped. */
const cellsOf = (row: string): string[] => row.replace(/^\| | \|$/g, '').split(/(?<!\\)\|/);

const rowsOf = (markdown: string, header: string): string[] => {
  const lines = markdown.split('\n');
  const start = lines.indexOf(header);
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
};

describe('renderStepSummary', () => {
  it('leads with the verdict, then the reason, then a table of targets', () => {
    const markdown = renderStepSummary(failResult());
    expect(
      markdown.startsWith(
        '## ❌ ceiling gate: FAIL\n\n**target chat-2: journey "chat announces who left", step "bob leaves": no message matched within 2s**\n',
      ),
    ).toBe(true);
    expect(rowsOf(markdown, '| Target | Version | Status | Clean rounds |')).toEqual([
      '| chat-1 | 1.4.2 | ✅ passed | 2 |',
      '| chat-2 | 1.4.1 (expected 1.4.2) | ❌ failed | 0 |',
    ]);
    expect(renderStepSummary(passResult())).toMatch(/^## ✅ ceiling gate: PASS\n/);
    expect(renderStepSummary(inconclusiveResult())).toMatch(/^## ⚠️ ceiling gate: INCONCLUSIVE\n/);
  });

  it('lists findings once per distinct problem, with the rounds it was seen in', () => {
    const rows = rowsOf(renderStepSummary(failResult()), '| Target | Where | Code | Message | Seen |');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toBe(
      '| chat-2 | chat announces who left › bob leaves (critical) | `CEIL_WS_EXPECT_TIMEOUT` | no message matched within 2s: expected \\{"type":"left","nick":"bob"\\} | rounds 1, 2 |',
    );
  });

  it('has a latency table with the regressions first', () => {
    const rows = rowsOf(renderStepSummary(latencyRegressionResult()), '| Target | Journey › step | Baseline median | Current median | Ratio | p |  |');
    expect(rows[0]).toBe('| chat-1 | chat announces who left › bob leaves | 40ms | 103ms | ×2.58 | p=0.003 | ❌ slower |');
    expect(rows).toHaveLength(2);
  });

  it('keeps pipes and newlines in user text inside their cell, and neutralises markup', () => {
    const result = failResult();
    result.findings = [{ ...bobLeavesFinding(1), message: 'got a|b\nthen <script>alert(1)</script> **bold** [link](http://x) $x$' }];
    const markdown = renderStepSummary(result);
    const [row] = rowsOf(markdown, '| Target | Where | Code | Message | Seen |');
    expect(cellsOf(row!)).toHaveLength(5);
    expect(row).toContain('got a\\|b<br>then &lt;script&gt;alert(1)&lt;/script&gt; \\*\\*bold\\*\\* \\[link\\](http://x) \\$x\\$');
    expect(markdown).not.toContain('<script>');
  });

  it('shows a failed rollback as a caution with its output in a fence nothing can close', () => {
    const result = failedRollbackResult();
    result.rollback!.output = 'step 1\n```\n# not a heading\n<b>not bold</b>\n';
    const markdown = renderStepSummary(result);
    expect(markdown).toContain('> [!CAUTION]\n> **Rollback failed (exit 3)**: ./rollback.sh 1.4.1 ran for 900ms.');
    expect(markdown).toContain('````text\nstep 1\n```\n# not a heading\n<b>not bold</b>\n````');
    expect(markdown).toContain('- **Recovery: NOT recovered within 2.0m (4 rounds)**');
  });

  it('reports time to detect, the rollback and time to recover', () => {
    const markdown = renderStepSummary(failResult());
    expect(markdown).toContain(
      '### Outcome\n\n- Detected in 12.3s\n- rollback ./rollback.sh 1.4.1 exited 0 in 2.10s\n- Recovery: green again 8.40s after the verdict (1 round)',
    );
  });

  it('cuts a very long findings table and says where the rest is', () => {
    const result = failResult();
    result.findings = Array.from({ length: 80 }, (_, index) => ({ ...bobLeavesFinding(1), step: `step ${index}` }));
    const markdown = renderStepSummary(result);
    expect(rowsOf(markdown, '| Target | Where | Code | Message | Seen |')).toHaveLength(50);
    expect(markdown).toContain('…and 30 more in the verdict file.');
  });
});

describe('markdown escaping', () => {
  it('escapes emphasis, code, links and HTML, and folds newlines', () => {
    expect(escapeMarkdown('a_b *c* `d` [e] <f> & # | ~ $ \\ \n g')).toBe('a\\_b \\*c\\* \\`d\\` \\[e\\] &lt;f&gt; &amp; \\# \\| \\~ \\$ \\\\   g');
    expect(escapeTableCell('one\r\ntwo|three')).toBe('one<br>two\\|three');
  });
});

describe('writeStepSummary', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('appends to the summary file, keeping what earlier steps wrote', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ceiling-summary-'));
    const file = path.join(dir, 'step_summary.md');
    await writeFile(file, '# Build\nno trailing newline', 'utf8');
    const first = renderStepSummary(failResult());
    await writeStepSummary(file, first);
    await writeStepSummary(file, renderStepSummary(passResult()));
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('# Build\nno trailing newline\n\n## ❌ ceiling gate: FAIL\n')).toBe(true);
    expect(text).toContain(`${first.trimEnd()}\n\n## ✅ ceiling gate: PASS\n`);
    expect(text.match(/^## /gm)).toHaveLength(2);
  });
});

describe('renderAnnotations', () => {
  it('pins each distinct finding to its journey file and line', () => {
    expect(renderAnnotations(failResult())).toEqual([
      '::error title=chat-2 › version::CEIL_GATE_VERSION: target chat-2 runs 1.4.1, expected 1.4.2',
      '::error file=journeys/chat-leave.yaml,line=11,title=chat-2 › chat announces who left › bob leaves::CEIL_WS_EXPECT_TIMEOUT: no message matched within 2s: expected {"type":"left","nick":"bob"} (rounds 1, 2)',
    ]);
  });

  it('pins a journey listed by absolute path (as ceiling.yaml resolves them) relative to the workspace, and drops one outside it', () => {
    const result = failResult();
    result.findings = [
      { ...bobLeavesFinding(1), file: '/repo/journeys/chat-leave.yaml' },
      { ...bobLeavesFinding(1), target: 'chat-3', file: '/elsewhere/chat-leave.yaml' },
    ];
    const [inside, outside] = renderAnnotations(result, '/repo', '/repo/sub');
    expect(inside).toMatch(/^::error file=journeys\/chat-leave\.yaml,line=11,title=chat-2 › /);
    expect(outside).toMatch(/^::error title=chat-3 › /);
  });

  it('escapes the message and the properties by the workflow-command rules', () => {
    const result = failResult();
    result.findings = [{ ...bobLeavesFinding(1), target: 'eu:1,a', step: 'a: b, c', message: '100% broken\r\nsecond line', file: 'journeys/odd,name:x.yaml' }];
    const [line] = renderAnnotations(result);
    expect(line).toBe(
      '::error file=journeys/odd%2Cname%3Ax.yaml,line=11,title=eu%3A1%2Ca › chat announces who left › a%3A b%2C c::CEIL_WS_EXPECT_TIMEOUT: 100%25 broken%0D%0Asecond line (round 1)',
    );
    // Exactly one `::` separates the command from its message, so nothing in the user text can end it early.
    expect(line!.split('::')).toHaveLength(3);
  });

  it('puts a failed rollback first, as an error with its output', () => {
    const [first] = renderAnnotations(failedRollbackResult());
    expect(first).toBe(
      '::error title=ceiling gate%3A rollback failed (exit 3)::ROLLBACK FAILED (exit 3): ./rollback.sh 1.4.1 after 900ms%0Akubectl: error: deployment "chat" not found%0Arollback aborted',
    );
  });

  it('warns rather than errs for flaky passes, an unreachable fleet and anything under a pass', () => {
    const flaky = failResult();
    flaky.findings.push({
      kind: 'flaky',
      target: 'chat-1',
      journey: 'chat announces who left',
      code: 'CEIL_GATE_FLAKY',
      message: 'passed only after 1 retry',
      critical: false,
      round: 2,
    });
    expect(renderAnnotations(flaky).at(-1)).toMatch(/^::warning title=chat-1 › flaky%3A chat announces who left::CEIL_GATE_FLAKY/);
    flaky.policy.failOnFlaky = true;
    expect(renderAnnotations(flaky).at(-1)).toMatch(/^::error /);

    expect(renderAnnotations(inconclusiveResult())).toEqual([
      '::warning title=chat-1 › infrastructure%3A chat announces who left::CEIL_DNS_LOOKUP: cannot resolve the host of chat-1.internal (ENOTFOUND) (round 1)',
    ]);
    const pass = passResult();
    pass.findings = [bobLeavesFinding(1)];
    expect(renderAnnotations(pass)[0]).toMatch(/^::warning /);
  });

  it('annotates a failed verdict even without findings, and nothing for a clean pass', () => {
    const result = failResult();
    result.findings = [];
    result.rollback = undefined;
    expect(renderAnnotations(result)).toEqual([`::error title=ceiling gate%3A FAIL::${escapeCommandData(result.reason)}`]);
    expect(renderAnnotations(passResult())).toEqual([]);
  });

  it('escapes percent before the characters it introduces', () => {
    expect(escapeCommandData('%0A\n')).toBe('%250A%0A');
    expect(escapeCommandProperty('a:b,c%')).toBe('a%3Ab%2Cc%25');
  });
});
