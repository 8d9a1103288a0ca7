/**
 * What every GitHub Actions output of Ceiling shares (`run` and `gate`): the
 * escaping of user text in a markdown step summary and in workflow commands,
 * the `::error`/`::warning` annotation line, and the append to the file named
 * by GITHUB_STEP_SUMMARY. Journey names, messages and command output are user
 * text: escaped, they cannot break a table, start markup, or end a workflow
 * command early.
 */
import { appendFile, mkdir, open } from 'node:fs/promises';
import path from 'node:path';

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Inline user text: HTML is neutralised as entities, and the characters that
 * open emphasis, code, links, strike-through, math or headings are
 * backslash-escaped (GFM honours a backslash before any ASCII punctuation).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[&<>]/g, (char) => htmlEscapes[char] ?? char)
    .replace(/[\\`*_{}[\]#|~$]/g, '\\$&')
    .replace(/\r\n?|\n/g, ' ');
}

/** A table cell: a pipe would start a new column and a newline would end the row, so newlines become <br>. */
export function escapeTableCell(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => escapeMarkdown(line))
    .join('<br>');
}

/** A fence longer than any backtick run inside, so command output cannot close its own code block. */
export function fencedBlock(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** Inline code for identifiers such as error codes; in a table a pipe must be escaped even inside code. */
export function codeSpan(text: string): string {
  const oneLine = text.replace(/\r\n?|\n/g, ' ').replace(/\|/g, '\\|');
  const longestRun = Math.max(0, ...(oneLine.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longestRun + 1);
  // A span that starts or ends with a backtick needs a space inside its delimiters.
  const padding = oneLine.startsWith('`') || oneLine.endsWith('`') ? ' ' : '';
  return `${ticks}${padding}${oneLine}${padding}${ticks}`;
}

/** GitHub refuses a step summary above 1 MiB; long tables are cut well before that and point to a fuller report. */
export const MAX_TABLE_ROWS = 50;

/** A markdown table of already-escaped cells; `total` above the rows shown adds a line saying where the rest is. */
export function markdownTable(header: string[], rows: string[][], total: number, restIn: string): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
  if (total > rows.length) lines.push('', `…and ${total - rows.length} more in ${restIn}.`);
  return lines.join('\n');
}

/** Workflow-command data: these three characters would end or split the command. */
export const escapeCommandData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** Workflow-command properties additionally lose `:` (ends the property list) and `,` (separates properties). */
export const escapeCommandProperty = (text: string): string => escapeCommandData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

export type AnnotationSeverity = 'error' | 'warning';

/** `::error file=…,line=…,title=…::message`; properties left undefined are left out. */
export function annotation(severity: AnnotationSeverity, properties: Record<string, string | number | undefined>, message: string): string {
  const list = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${escapeCommandProperty(String(value))}`)
    .join(',');
  return `::${severity}${list ? ` ${list}` : ''}::${escapeCommandData(message)}`;
}

/**
 * GitHub pins an annotation to a file given relative to the repository root
 * (GITHUB_WORKSPACE); a path outside it cannot be pinned and is left out.
 */
export function workspacePath(file: string, workspace: string, cwd: string = process.cwd()): string | undefined {
  const relative = path.relative(workspace, path.resolve(cwd, file));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return relative.split(path.sep).join('/');
}

/** The newlines that put a blank line between what the file holds and what comes next. */
async function separatorAfter(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return '';
    const tail = Buffer.alloc(Math.min(2, size));
    await handle.read(tail, 0, tail.length, size - tail.length);
    const text = tail.toString('latin1');
    return text.endsWith('\n\n') || (size === 1 && text === '\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  } finally {
    await handle.close();
  }
}

/**
 * GitHub concatenates every step's summary from this one file, so it is
 * appended to, never replaced, after a blank line: without one, our table
 * could run into the end of whatever an earlier step wrote.
 */
export async function writeStepSummary(file: string, markdown: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${await separatorAfter(file)}${markdown.trimEnd()}\n`, 'utf8');
}
