import jsYaml from 'js-yaml';
import type { Path, Position, PositionIndex } from './positions.js';

/**
 * The fast path for reading journey files. js-yaml parses a journey several
 * times faster than the `yaml` document model (100 files: about 15 ms against
 * 115 ms here), which matters when a suite has hundreds of files. It records
 * where each mapping and list starts, which is all a valid journey needs (the
 * step locations in reports). Any file with something to report is read again
 * by yaml-positions.ts, whose positions are exact for every key.
 */

export interface FastParsed {
  raw: unknown;
  positions: PositionIndex;
}

/** Returns null when the text is not plain, valid YAML; the caller then takes the exact path. */
export function fastParse(text: string): FastParsed | null {
  // Tabs and anchors are where the two parsers could disagree; leave those files to the exact path,
  // before parsing, so an alias bomb never reaches a parser without an alias budget.
  if (text.includes('\t') || /(^|[\s[{,])[&*][^\s]|<<\s*:/m.test(text)) return null;
  const starts = new WeakMap<object, Position>();
  const open: Position[] = [];
  let raw: unknown;
  try {
    raw = jsYaml.load(text, {
      // The core schema, as the yaml library uses by default: no timestamps turning into Dates.
      schema: jsYaml.CORE_SCHEMA,
      json: false,
      listener(event, state) {
        if (event === 'open') {
          open.push({ line: state.line + 1, column: state.position - state.lineStart + 1 });
          return;
        }
        const start = open.pop();
        if (start && state.result !== null && typeof state.result === 'object') starts.set(state.result as object, start);
      },
    });
  } catch {
    return null;
  }
  const positions: PositionIndex = {
    locate(target: Path) {
      let node: unknown = raw;
      let best = (raw !== null && typeof raw === 'object' ? starts.get(raw) : undefined) ?? { line: 1, column: 1 };
      for (const segment of target) {
        if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) break;
        node = (node as Record<string | number, unknown>)[segment];
        const start = node !== null && typeof node === 'object' ? starts.get(node) : undefined;
        if (!start) break;
        best = start;
      }
      return best;
    },
  };
  return { raw, positions };
}
