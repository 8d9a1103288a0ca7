/**
 * Renders docs/failure-codes.md from the catalogue. Kept pure (a string
 * out) so the unit test can compare the committed document with it.
 */
import { CODE_CLASSES, FAILURE_CODES, type CodeClass, type FailureCodeEntry } from './failure-codes.js';

// A meaning may hold a `|`; escaped, it stays inside its table cell.
const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function renderFailureCodesDoc(): string {
  const entries = Object.entries(FAILURE_CODES) as [string, FailureCodeEntry][];
  const lines = [
    '# Failure codes',
    '',
    '<!-- Generated from src/core/failure-codes.ts by `npm run docs:codes`; edit the table there, not this file. -->',
    '',
    'Every problem Ceiling reports carries a stable `CEIL_*` code: step failures in the console, JSON, JUnit',
    '(the `type` attribute) and GitHub output, diagnostics from `ceiling validate`, gate findings, serve alerts',
    'and history errors. CI jobs and alert routes may branch on these codes; messages may change, codes do not.',
    `There are ${entries.length} codes, grouped below by class.`,
    '',
  ];
  for (const [codeClass, description] of Object.entries(CODE_CLASSES) as [CodeClass, string][]) {
    const members = entries.filter(([, entry]) => entry.class === codeClass);
    if (members.length === 0) continue;
    lines.push(`## ${codeClass}`, '', description, '', '| Code | Meaning |', '| --- | --- |');
    for (const [code, entry] of members) lines.push(`| \`${code}\` | ${cell(entry.meaning)} |`);
    lines.push('');
  }
  return lines.join('\n');
}
