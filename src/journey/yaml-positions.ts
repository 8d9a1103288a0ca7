import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type ErrorCode, type Node as YamlNode } from 'yaml';
import { DEFAULT_ALIAS_BUDGET } from './load-limits.js';
import type { Path, Position, PositionIndex } from './positions.js';

/**
 * Exact positions from the `yaml` library's document model: every node and
 * key has a range. Slower than the fast path, so it is used only for files
 * that have something to report.
 */

/** The yaml library's own problem codes plus the two alias checks made here; each has a CEIL_YAML_ code. */
export type YamlProblemCode = ErrorCode | 'ALIAS_BUDGET' | 'ALIAS_CYCLE';

export interface YamlSyntaxError {
  code: YamlProblemCode;
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

/**
 * Counts the values aliases add when the document is unfolded, in one pass
 * with each anchor's size remembered, so a bomb is measured without being
 * expanded. Returns the first alias that breaks the budget or refers to the
 * node it sits in (which would unfold forever).
 */
function aliasProblem(root: unknown, budget: number): { offset: number; code: 'ALIAS_BUDGET' | 'ALIAS_CYCLE'; source: string } | undefined {
  const anchors = new Map<string, unknown>();
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let added = 0;
  let found: ReturnType<typeof aliasProblem>;
  const size = (node: unknown): number => {
    if (found) return 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) return 1;
      if (open.has(target)) {
        found = { offset: node.range?.[0] ?? 0, code: 'ALIAS_CYCLE', source: node.source };
        return 0;
      }
      const unfolded = sizes.get(target) ?? 1;
      added += unfolded;
      if (added > budget) found = { offset: node.range?.[0] ?? 0, code: 'ALIAS_BUDGET', source: node.source };
      return unfolded;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node);
    open.add(node);
    let total = 1;
    if (isMap(node)) for (const pair of node.items) total += size(pair.key) + size(pair.value);
    else if (isSeq(node)) for (const item of node.items) total += size(item);
    open.delete(node);
    sizes.set(node, total);
    return total;
  };
  size(root);
  return found;
}

export interface ParseOptions {
  /** Values aliases may add when unfolded; past it the file is refused as a resource-exhaustion risk. */
  aliasBudget?: number;
}

export function parseWithPositions(text: string, options: ParseOptions = {}): ParsedWithPositions {
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
  const errors: YamlSyntaxError[] = doc.errors.map((error) => ({
    code: error.code,
    message: error.message.split('\n')[0] ?? error.message,
    position: toPosition(error.pos[0]),
    at: pathAtOffset(doc.contents, error.pos[0]),
  }));
  if (errors.length === 0) {
    const budget = options.aliasBudget ?? DEFAULT_ALIAS_BUDGET;
    const problem = aliasProblem(doc.contents, budget);
    if (problem) {
      const message =
        problem.code === 'ALIAS_CYCLE'
          ? `alias *${problem.source} refers to the node it sits in, which would unfold forever; give it a value of its own`
          : `aliases unfold this file to more than ${budget} extra values (at *${problem.source}), which looks like a resource-exhaustion attack ("billion laughs"); share less, or raise CEILING_YAML_ALIAS_BUDGET`;
      errors.push({ code: problem.code, message, position: toPosition(problem.offset), at: pathAtOffset(doc.contents, problem.offset) });
    }
  }
  // The budget above bounds what aliases add, so the library's own cruder limit (50 uses of one anchor) is off.
  return { raw: errors.length > 0 ? undefined : (doc.toJS({ maxAliasCount: -1 }) as unknown), positions, errors };
}
