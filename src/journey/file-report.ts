import type { FailureCode } from '../core/failure-codes.js';
import { formatField, type Diagnostic, type Severity } from './diagnostics.js';
import type { SourceLocation } from '../core/source-location.js';
import type { Path, PositionIndex } from './positions.js';

/** The diagnostics of one journey file, each placed at the line and column of the field it is about. */
export class FileReport {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    readonly file: string,
    private readonly positions: PositionIndex,
  ) {}

  locate(target: Path, preferKey = false): SourceLocation {
    const position = this.positions.locate(target, preferKey);
    return { file: this.file, line: position.line, column: position.column };
  }

  add(severity: Severity, code: FailureCode, target: Path, message: string, preferKey = false): void {
    const at = this.locate(target, preferKey);
    this.diagnostics.push({ severity, code, file: this.file, line: at.line, column: at.column, field: formatField(target), message });
  }

  /** In source order, so `ceiling validate` reads top to bottom; ties keep the order they were found in. */
  sorted(): Diagnostic[] {
    return [...this.diagnostics].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  addAt(severity: Severity, code: FailureCode, line: number, column: number, message: string, field = ''): void {
    this.diagnostics.push({ severity, code, file: this.file, line, column, field, message });
  }
}
