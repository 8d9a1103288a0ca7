import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import type { Path, Position, PositionIndex } from './positions.js';

/**
 * Exact positions from the `yaml` library's document model: every node and
 * key has a range. Slower than the fast path, so it is used only for files
 * that have something to report.
 */

export interface YamlSyntaxError {
  code: string;
  message: string;
  position: Position;
  /** The path of the key or value the error sits in, when known. */
  at: Path;
}

export interface ParsedWithPositions {
  raw: unknown;
  positions: PositionIndex;
  errors: YamlSyntaxError[];
}

/** The path of the innermost key or value at a source offset, for errors the parser reports by offset. */
function pathAtOffset(node: unknown, offset: number, base: Path = []): Path {
  const inside = (candidate: unknown): boolean => {
    const range = (candidate as YamlNode | null)?.range;
    return range !== undefined && range !== null && offset >= range[0] && offset < range[2];
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (inside(pair.key)) return [...base, key];
      if (inside(pair.value)) return pathAtOffset(pair.value, offset, [...base, key]);
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) if (inside(item)) return pathAtOffset(item, offset, [...base, index]);
  }
  return base;
}

export function parseWithPositions(text: string): ParsedWithPositions {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  const toPosition = (offset: number): Position => {
    const position = lines.linePos(offset);
    return { line: position.line, column: position.col };
  };
  const positions: PositionIndex = {
    locate(target, preferKey) {
      let node: unknown = doc.contents;
      let best = node as YamlNode | null;
      for (const [index, segment] of target.entries()) {
        const last = index === target.length - 1;
        if (isMap(node)) {
          const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
          if (!pair) break;
          if (last && preferKey && isScalar(pair.key)) return toPosition(pair.key.range?.[0] ?? 0);
          node = pair.value;
          best = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
        } else if (isSeq(node) && typeof segment === 'number') {
          node = node.items[segment];
          if (!node) break;
          best = node as YamlNode;
        } else break;
      }
      return toPosition(best?.range?.[0] ?? 0);
    },
  };
  // With prettyErrors off, yaml leaves linePos unset: the position comes from the offset.
  const errors = doc.errors.map((error) => ({
    code: error.code,
    message: error.message.split('\n')[0] ?? error.message,
    position: toPosition(error.pos[0]),
    at: pathAtOffset(doc.contents, error.pos[0]),
  }));
  return { raw: errors.length > 0 ? undefined : (doc.toJS({ maxAliasCount: 50 }) as unknown), positions, errors };
}
