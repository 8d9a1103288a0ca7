/**
 * When a webhook receiver's answer is worth another try, and how long it asked
 * us to wait. Shared by serve's alerts and the gate's notifications so the two
 * cannot drift; how often and how long each retries stays with its owner.
 */

/**
 * 408, 429 and 5xx may clear on their own; any other 4xx is the sender's fault
 * (a wrong URL, a revoked token) and retrying cannot fix it.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Only these answers carry a Retry-After a sender is expected to honour. */
export function mayAskToWait(status: number): boolean {
  return status === 429 || status === 503;
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. A date in the past means now. */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  // An HTTP date names its day and month; without the letters, Date.parse would read "-1" or "2026" as a year.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
