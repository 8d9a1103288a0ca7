import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { unzip, zip as zipAsync, type Unzipped, type Zippable } from 'fflate';
import type { Redactor } from '../../secrets/redactor.js';

/**
 * A Playwright trace is a zip of JSON lines (actions with their parameters,
 * DOM snapshots with input values, network requests with bodies) and of
 * resources fetched by the page. A secret typed into the page is in there in
 * plain text. Text entries are redacted like any other output; a binary entry
 * that still holds a secret's bytes is left out, since it cannot be redacted
 * without breaking it.
 */

export interface ScrubResult {
  zip: Uint8Array;
  /** Entries whose text changed. */
  redacted: string[];
  /** Binary entries left out because they held a secret. */
  dropped: string[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Text is whatever decodes as UTF-8 and holds no NUL byte, whatever its name says. */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function holdsSecret(bytes: Uint8Array, redactor: Redactor, secrets: readonly Buffer[]): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (secrets.some((secret) => buffer.includes(secret))) return true;
  // The ASCII forms (base64, URL-encoded) survive a latin1 reading byte for byte.
  return redactor.contains(buffer.toString('latin1'));
}

/**
 * Trace files are JSON lines, and some of their strings hold JSON themselves
 * (a request body), where a secret with a quote in it sits escaped twice and
 * matches none of its registered forms. Parsing each line and redacting its
 * strings (and JSON strings inside those) reaches that second level; the
 * text pass after it catches everything else. A line is rewritten only when
 * something in it was redacted, so the rest of the trace stays byte for byte.
 */
function redactText(text: string, redactor: Redactor): string {
  const lines = text.split('\n').map((line) => {
    if (!line.startsWith('{')) return line;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return line;
    }
    const changes = { count: 0 };
    const clean = redactDeeper(parsed, redactor, changes);
    return changes.count > 0 ? JSON.stringify(clean) : line;
  });
  return redactor.redact(lines.join('\n'));
}

/** Like Redactor.redactDeep, and a string that is itself JSON is redacted inside too. */
function redactDeeper(value: unknown, redactor: Redactor, changes: { count: number }): unknown {
  if (typeof value === 'string') {
    if (!redactor.contains(value)) return value;
    changes.count++;
    const inner = value.trimStart();
    if (inner.startsWith('{') || inner.startsWith('[')) {
      try {
        return JSON.stringify(redactDeeper(JSON.parse(value) as unknown, redactor, changes));
      } catch {
        // Not JSON after all; redacted as text below.
      }
    }
    return redactor.redact(value);
  }
  if (Array.isArray(value)) return value.map((item) => redactDeeper(item, redactor, changes));
  if (value !== null && typeof value === 'object') {
    const output: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) output[redactDeeper(key, redactor, changes) as string] = redactDeeper(inner, redactor, changes);
    return output;
  }
  return value;
}

/**
 * Unzipping and zipping run in fflate's worker threads, and the event loop
 * gets a turn between entries: a trace is scrubbed while other journeys'
 * WebSocket actors may still be connected, and must not freeze them.
 */
export async function scrubTrace(zip: Uint8Array, redactor: Redactor): Promise<ScrubResult> {
  const entries = await new Promise<Unzipped>((resolve, reject) => unzip(zip, (error, files) => (error ? reject(error) : resolve(files))));
  if (redactor.size === 0) return { zip, redacted: [], dropped: [] };
  const secrets = redactor.secretValues().flatMap((value) => [Buffer.from(value, 'utf8'), Buffer.from(value, 'utf16le')]);
  const kept: Zippable = {};
  const redacted: string[] = [];
  const dropped: string[] = [];
  for (const [name, bytes] of Object.entries(entries)) {
    await yieldToEventLoop();
    if (redactor.contains(name)) {
      dropped.push(redactor.redact(name));
      continue;
    }
    const text = asText(bytes);
    if (text !== undefined) {
      const clean = redactText(text, redactor);
      if (clean !== text) redacted.push(name);
      kept[name] = clean === text ? bytes : new TextEncoder().encode(clean);
    } else if (holdsSecret(bytes, redactor, secrets)) {
      dropped.push(name);
    } else {
      kept[name] = bytes;
    }
  }
  const scrubbed = await new Promise<Uint8Array>((resolve, reject) => zipAsync(kept, { level: 6 }, (error, data) => (error ? reject(error) : resolve(data))));
  return { zip: scrubbed, redacted, dropped };
}
