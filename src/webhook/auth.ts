import { createHmac } from 'node:crypto';
import type { Redactor } from '../secrets/redactor.js';

/**
 * How a webhook receiver can tell Ceiling from anyone else, shared by serve's
 * alerts and the gate's notifications:
 *
 * - headers given as `--webhook-header 'Name: value'`, whose value may take
 *   `{{ env.NAME }}` and `{{ secrets.NAME }}` from the environment, --env-file
 *   and --secrets-file, resolved once at start-up;
 * - an HMAC-SHA256 signature over `timestamp.body` (`--webhook-secret-env`),
 *   fresh on every attempt so a retry is not mistaken for a replay;
 * - user info in a webhook URL, sent as Basic auth (see basicAuthorization).
 *
 * Every value that could be a credential is registered with the redactor here,
 * before anything is sent or printed.
 */

export const SIGNATURE_HEADER = 'x-ceiling-signature';
export const TIMESTAMP_HEADER = 'x-ceiling-timestamp';

export interface WebhookAuth {
  /** Sent on every post, after the built-in ones; names are lower case. */
  headers: readonly (readonly [name: string, value: string])[];
  /** The HMAC key; when set, every post carries the signature and timestamp headers. */
  signingSecret?: string;
}

export const NO_WEBHOOK_AUTH: WebhookAuth = { headers: [] };

/** A problem with a --webhook-header or --webhook-secret-env: bad input, exit 2. It never quotes a value. */
export class WebhookAuthError extends Error {}

/** Where `{{ env.X }}` and `{{ secrets.X }}` come from: the run's sources, as journeys see them. */
export interface WebhookAuthSources {
  env(name: string): string | undefined;
  secret(name: string): string | undefined;
}

/** RFC 9110 token characters: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const PLACEHOLDER = /\{\{\s*(env|secrets)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** Set by the transport or by Ceiling itself: a header flag must not change how the body is framed or signed. */
const RESERVED = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', SIGNATURE_HEADER, TIMESTAMP_HEADER]);
const LABEL = 'webhook-header';
/** Header names that say they carry a credential: their values are redacted even when written literally in the flag. */
const CREDENTIAL_NAME = /auth|token|key|secret|password|cookie|signature|credential/i;

/**
 * Parses the --webhook-header flags. Any error names the flag's position, the
 * header and the variable, never the value. Every value taken from a variable
 * is registered with the redactor, and so is the whole header value when it
 * took one or when the header's name says it carries a credential.
 */
export function parseWebhookHeaders(flags: readonly string[], sources: WebhookAuthSources, redactor: Redactor): WebhookAuth['headers'] {
  return flags.map((flag, index) => {
    const where = `--webhook-header #${index + 1}`;
    const colon = flag.indexOf(':');
    if (colon === -1) throw new WebhookAuthError(`${where} has no ":"; write it as 'Name: value', e.g. 'Authorization: Bearer {{ env.HOOK_TOKEN }}'`);
    const name = flag.slice(0, colon).trim();
    if (!HEADER_NAME.test(name)) throw new WebhookAuthError(`${where}: the header name before ":" is empty or not a valid HTTP header name`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower)) throw new WebhookAuthError(`${where}: ${name} is set by Ceiling itself and cannot be given`);
    let templated = false;
    const value = flag.slice(colon + 1).replace(PLACEHOLDER, (_match, kind: 'env' | 'secrets', variable: string) => {
      templated = true;
      let resolved: string | undefined;
      try {
        resolved = kind === 'env' ? sources.env(variable) : sources.secret(variable);
      } catch {
        // The secrets lookup refuses a value too short to redact; its message is about journeys, this one names the flag.
        throw new WebhookAuthError(`${where} (${name}): secrets.${variable} is too short to redact safely; use a longer value`);
      }
      if (resolved === undefined || resolved === '')
        throw new WebhookAuthError(
          `${where} (${name}): ${kind}.${variable} is not set; ${kind === 'env' ? `export ${variable} or put it in --env-file` : `put ${variable} in --secrets-file or the environment`}`,
        );
      redactor.add(resolved, LABEL);
      return resolved;
    });
    const trimmed = value.trim();
    if (trimmed === '') throw new WebhookAuthError(`${where} (${name}) has an empty value`);
    if (/[\r\n\0]/.test(trimmed)) throw new WebhookAuthError(`${where} (${name}): the value holds a line break or NUL, which no HTTP header may`);
    // A plain value such as `X-Source: ceiling` is not secret, and redacting it would blank innocent text everywhere.
    if (templated || CREDENTIAL_NAME.test(name)) {
      redactor.add(trimmed, LABEL);
      // A token after a scheme word (Bearer, Token, Basic) is the secret part on its own too.
      const credential = /^\S+\s+(\S{4,})$/.exec(trimmed)?.[1];
      if (credential !== undefined) redactor.add(credential, LABEL);
    }
    return [lower, trimmed] as const;
  });
}

/** Reads the signing key from the variable --webhook-secret-env names; missing or empty is bad input. */
export function signingSecretFrom(variable: string, sources: WebhookAuthSources, redactor: Redactor): string {
  const secret = sources.env(variable);
  if (secret === undefined || secret === '') throw new WebhookAuthError(`--webhook-secret-env: ${variable} is not set; export it or put it in --env-file`);
  if (secret.length < 16) throw new WebhookAuthError(`--webhook-secret-env: ${variable} is shorter than 16 characters; use a long random key`);
  redactor.add(secret, 'webhook-signing-secret');
  return secret;
}

/** `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under the key: what the receiver recomputes. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** `Basic` credentials from a URL's user info (percent-decoded), or undefined when it has none. */
export function basicAuthorization(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  return `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64')}`;
}

/** The URL to connect to: user info travels as a header, never in the request line. */
export function withoutUserInfo(url: URL): URL {
  if (url.username === '' && url.password === '') return url;
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  return bare;
}

/** The headers one attempt adds: Basic auth from the URL, the flags' headers (which win), and the signature. */
export function authHeaders(url: URL, auth: WebhookAuth, body: string, nowMs: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const basic = basicAuthorization(url);
  if (basic !== undefined) headers.authorization = basic;
  for (const [name, value] of auth.headers) headers[name] = value;
  if (auth.signingSecret !== undefined) {
    const timestamp = String(Math.floor(nowMs / 1000));
    headers[TIMESTAMP_HEADER] = timestamp;
    headers[SIGNATURE_HEADER] = webhookSignature(auth.signingSecret, timestamp, body);
  }
  return headers;
}
