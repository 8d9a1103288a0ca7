/**
 * Text from services and from journey files (failure messages, bodies,
 * names, YAML keys) reaches terminals and log files. Escape sequences in it
 * could recolour, erase or rewrite lines or set the window title, a NUL or a
 * newline could forge or hide log lines, and a binary body could flood the
 * screen. Every console and log writer passes such text through
 * terminalSafe: every control byte is shown escaped as \xNN, and the length
 * is capped. The console reporter drops whole escape sequences instead, so a
 * service's colours do not turn into noise in a report meant for people.
 */
import { stripVTControlCharacters } from 'node:util';

/** Longer texts are cut with a note of how much was left out; enough for any message, far below a flood. */
export const TERMINAL_TEXT_MAX_CHARS = 8192;

// C0 controls except tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the bidi overrides that reorder what a reader sees.
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const controlOrNewline = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escaped(character: string): string {
  const code = character.charCodeAt(0);
  if (character === '\n') return '\\n';
  if (character === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export interface TerminalTextOptions {
  /** A log line must stay one line; console blocks (a body under "actual:") keep theirs. Default: keep. */
  newlines?: 'keep' | 'escape';
  /** Whole escape sequences (colours, window titles): escaped byte by byte (default), or removed. */
  sequences?: 'escape' | 'strip';
  /** Default TERMINAL_TEXT_MAX_CHARS. */
  maxChars?: number;
}

export function terminalSafe(text: string, options: TerminalTextOptions = {}): string {
  const maxChars = options.maxChars ?? TERMINAL_TEXT_MAX_CHARS;
  // Cut first (with room for the escapes) so a 200 KB binary body costs no more than a short one.
  const bounded = text.length > maxChars * 2 ? text.slice(0, maxChars * 2) : text;
  const pattern = options.newlines === 'escape' ? controlOrNewline : controlCharacters;
  const safe = (options.sequences === 'strip' ? stripVTControlCharacters(bounded) : bounded).replace(pattern, escaped);
  if (safe.length <= maxChars && bounded.length === text.length) return safe;
  const kept = safe.slice(0, maxChars);
  return `${kept}… (cut; ${text.length} characters in all)`;
}

/** One line for a log (serve's stderr, validate's diagnostics): newlines escaped as well. */
export const logSafe = (text: string): string => terminalSafe(text, { newlines: 'escape' });

/**
 * A copy of a JSON-like value with every string made terminal-safe, except
 * under the keys in `keepAsIs`: values rendered as JSON are escaped by
 * JSON.stringify already, and there `"\u001b[31m"` is evidence worth seeing.
 */
export function terminalSafeDeep<T>(value: T, keepAsIs: ReadonlySet<string> = new Set()): T {
  const visit = (item: unknown): unknown => {
    if (typeof item === 'string') return terminalSafe(item, { sequences: 'strip' });
    if (Array.isArray(item)) return item.map(visit);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(
        Object.entries(item).map(([key, inner]) => [terminalSafe(key, { sequences: 'strip' }), keepAsIs.has(key) ? inner : visit(inner)]),
      );
    }
    return item;
  };
  return visit(value) as T;
}
