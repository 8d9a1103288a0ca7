/**
 * Problems found in journey files. All of them are collected, each with a
 * severity and a position, and the caller fails on the fatal ones.
 */
import type { FailureCode } from '../core/failure-codes.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  code: FailureCode;
  file: string;
  line: number;
  column: number;
  /** The field, spelled like `steps[2].http.url`; empty for the whole file. */
  field: string;
  message: string;
}

export function formatField(path: readonly (string | number | symbol)[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where = `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}`;
  const field = diagnostic.field ? ` › ${diagnostic.field}` : '';
  const level = diagnostic.severity === 'warning' ? 'warning: ' : '';
  return `${where}${field}: ${level}${diagnostic.message}`;
}

export const hasErrors = (diagnostics: readonly Diagnostic[]): boolean => diagnostics.some((d) => d.severity === 'error');
