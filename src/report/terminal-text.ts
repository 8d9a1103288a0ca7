/**
 * Text from services (failure messages, bodies, names) reaches the terminal
 * through the console. Escape sequences in it could recolour, erase or
 * rewrite lines, and would break the promise that plain output has no ANSI,
 * so they are removed before rendering adds its own colours.
 */
import { stripVTControlCharacters } from 'node:util';

// C0 controls except tab and newline, DEL, and C1 controls (0x9b is a one-byte CSI).
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function terminalSafe(text: string): string {
  return stripVTControlCharacters(text).replace(controlCharacters, '');
}

/**
 * A copy of a JSON-like value with every string made terminal-safe, except
 * under the keys in `keepAsIs`: values rendered as JSON are escaped by
 * JSON.stringify already, and there `"\u001b[31m"` is evidence worth seeing.
 */
export function terminalSafeDeep<T>(value: T, keepAsIs: ReadonlySet<string> = new Set()): T {
  const visit = (item: unknown): unknown => {
    if (typeof item === 'string') return terminalSafe(item);
    if (Array.isArray(item)) return item.map(visit);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([key, inner]) => [terminalSafe(key), keepAsIs.has(key) ? inner : visit(inner)]));
    }
    return item;
  };
  return visit(value) as T;
}
