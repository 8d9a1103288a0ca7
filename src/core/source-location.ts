/** Where something sits in a journey or config file: 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}
