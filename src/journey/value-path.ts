/**
 * Paths into JSON values for captures: `id`, `items[0].id`, `data["odd key"]`.
 * Kept to dots and brackets on purpose: no filters, no code.
 */
export function parseValuePath(text: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]|\["([^"]*)"\]|\['([^']*)'\]/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[3] ?? match[4] ?? '');
  }
  return segments;
}

const ABSENT = Symbol('absent');

export function readValuePath(value: unknown, text: string): { found: true; value: unknown } | { found: false } {
  let current: unknown = value;
  for (const segment of parseValuePath(text)) {
    if (current === null || typeof current !== 'object') return { found: false };
    const next: unknown = Object.hasOwn(current, segment) ? (current as Record<string | number, unknown>)[segment] : ABSENT;
    if (next === ABSENT) return { found: false };
    current = next;
  }
  return { found: true, value: current };
}

export const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
