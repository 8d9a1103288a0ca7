/** Where a path into a journey file sits in its text: 1-based line and column. */
export type Path = (string | number)[];

export interface Position {
  line: number;
  column: number;
}

export interface PositionIndex {
  /** The node at a path, or its nearest existing ancestor; the key itself when asked. */
  locate(target: Path, preferKey: boolean): Position;
}
