/**
 * Secret values, and the forms they take on the wire (base64, URL-encoded,
 * JSON-escaped, Basic auth), are replaced before any text leaves the process.
 * Every output boundary (console, JSON, JUnit, files) passes through here.
 *
 * Matching ignores case: a URL parser lowercases a hostname (and DNS errors
 * repeat it lowercased), and percent-escapes may come back in either case.
 * Redacting a harmless text that equals a secret but for case is the safe
 * side of that trade.
 */
import { domainToASCII } from 'node:url';

export const MIN_SECRET_LENGTH = 4;

function derivedForms(value: string): string[] {
  const forms = new Set<string>([value]);
  forms.add(Buffer.from(value).toString('base64'));
  forms.add(Buffer.from(value).toString('base64').replace(/=+$/, ''));
  forms.add(Buffer.from(value).toString('base64url'));
  forms.add(encodeURIComponent(value));
  forms.add(encodeURIComponent(value).replace(/%20/g, '+'));
  forms.add(encodeURI(value));
  // Query strings and form bodies are built with URLSearchParams, which escapes more than encodeURIComponent (! ' ( ) ~).
  forms.add(new URLSearchParams([['', value]]).toString().slice(1));
  forms.add(JSON.stringify(value).slice(1, -1));
  // A value written into a url: is escaped by the URL parser, which leaves some characters (| ^) alone.
  const url = new URL('http://x/');
  url.pathname = `/${value}`;
  forms.add(url.pathname.slice(1));
  url.search = `?${value}`;
  forms.add(url.search.slice(1));
  url.hash = `#${value}`;
  forms.add(url.hash.slice(1));
  // In user info (http://user:SECRET@host/) the parser escapes its own set of characters.
  url.password = value;
  forms.add(url.password);
  // In a hostname: percent-decoded, lowercased and, for non-ASCII, punycode (xn--…).
  const host = domainToASCII(value);
  if (host !== '') forms.add(host);
  try {
    forms.add(decodeURIComponent(value));
  } catch {
    // Not percent-encoded text; nothing to decode.
  }
  // Page snapshots in browser traces store text HTML-escaped.
  forms.add(value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'));
  // An Authorization value ("Basic dXNlcjpwYXNz", "Bearer …") also leaks through its bare token.
  const credentials = /^(?:Basic|Bearer) +(\S+)$/i.exec(value)?.[1];
  if (credentials !== undefined) forms.add(credentials);
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

export class Redactor {
  private readonly forms = new Map<string, string>();
  /** Each secret as registered, with its label. */
  private readonly originals = new Map<string, string>();
  private pattern: RegExp | null = null;

  /**
   * Registers a secret; returns false when it is too short to redact safely.
   * Without a label, a value built from a known secret (`Bearer {{ secrets.TOKEN }}`)
   * takes that secret's label, so one secret reads the same everywhere in a run.
   */
  add(value: string, label?: string): boolean {
    if (value.length < MIN_SECRET_LENGTH) return false;
    const resolved = label ?? this.labelWithin(value);
    if (!this.originals.has(value)) this.originals.set(value, resolved);
    for (const form of derivedForms(value)) {
      if (!this.forms.has(form)) {
        this.forms.set(form, resolved);
        this.pattern = null;
      }
    }
    return true;
  }

  /**
   * A copy that starts with every secret known so far. A long-running daemon
   * gives each run its own fork, so values derived from secrets during one run
   * (a token plus a random suffix) do not pile up in the shared redactor.
   */
  fork(): Redactor {
    const copy = new Redactor();
    for (const [form, label] of this.forms) copy.forms.set(form, label);
    for (const [original, label] of this.originals) copy.originals.set(original, label);
    copy.pattern = this.pattern;
    return copy;
  }

  /** The secrets as registered, for outputs that cannot be redacted as text (a page to mask before a screenshot). */
  secretValues(): string[] {
    return [...this.originals.keys()];
  }

  /** True when the text holds a secret in any of its forms. */
  contains(text: string): boolean {
    const pattern = this.compiled();
    if (!pattern) return false;
    pattern.lastIndex = 0;
    const found = pattern.test(text);
    pattern.lastIndex = 0;
    return found;
  }

  get size(): number {
    return this.forms.size;
  }

  private compiled(): RegExp | null {
    if (this.forms.size === 0) return null;
    if (!this.pattern) {
      // Longest first, so a secret's base64 is not half-replaced by a shorter secret inside it.
      const alternatives = [...this.forms.keys()].sort((a, b) => b.length - a.length).map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      this.pattern = new RegExp(alternatives.join('|'), 'gi');
    }
    return this.pattern;
  }

  redact(text: string): string {
    const pattern = this.compiled();
    if (!pattern) return text;
    return text.replace(pattern, (match) => `[REDACTED:${this.forms.get(match) ?? this.labelIgnoringCase(match)}]`);
  }

  /** The label of the longest known secret inside a value, else the generic one. */
  private labelWithin(value: string): string {
    const lower = value.toLowerCase();
    let best: { length: number; label: string } | undefined;
    for (const [original, label] of this.originals) {
      if (original.length > (best?.length ?? 0) && lower.includes(original.toLowerCase())) best = { length: original.length, label };
    }
    return best?.label ?? 'secret';
  }

  private labelIgnoringCase(match: string): string {
    const lower = match.toLowerCase();
    for (const [form, label] of this.forms) if (form.toLowerCase() === lower) return label;
    return 'secret';
  }

  /** A copy of a JSON-like value with every string (keys included) redacted. */
  redactDeep<T>(value: T): T {
    if (this.forms.size === 0) return value;
    const visit = (item: unknown): unknown => {
      if (typeof item === 'string') return this.redact(item);
      if (Array.isArray(item)) return item.map(visit);
      if (item !== null && typeof item === 'object') {
        const output: Record<string, unknown> = {};
        for (const [key, inner] of Object.entries(item)) output[this.redact(key)] = visit(inner);
        return output;
      }
      return item;
    };
    return visit(value) as T;
  }
}
