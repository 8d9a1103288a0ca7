import { Agent, request, type Dispatcher } from 'undici';
import { classifyNetworkError } from '../core/network-errors.js';
import { VERSION } from '../version.js';
import { authHeaders, NO_WEBHOOK_AUTH, withoutUserInfo, type WebhookAuth } from './auth.js';
import { isRetryableStatus, mayAskToWait, retryAfterMs } from './retry-rules.js';
import { webhookDisplayName } from './url.js';

/**
 * One attempt at posting a JSON body to a webhook: bounded by a timeout and
 * cut short by the caller's signal, classified into an outcome the caller's
 * retry loop acts on. Never throws for anything the network or the receiver
 * does. Reasons name the receiver by scheme and host only.
 */

const USER_AGENT = `ceiling/${VERSION}`;
/** A receiver's reply is read only to free the connection; nobody needs more than this of it. */
const RESPONSE_READ_LIMIT = 64 * 1024;

export interface WebhookPost {
  url: URL;
  /** Already serialized and redacted. */
  body: string;
  /** From sending to the end of the response. */
  timeoutMs: number;
  /** Aborts the attempt, e.g. on shutdown or Ctrl-C. */
  signal?: AbortSignal;
  /** A Retry-After beyond this is shortened to it. */
  maxRetryAfterMs: number;
  dispatcher: Dispatcher;
  /** Headers and signing key; user info in `url` is sent as Basic auth either way. */
  auth?: WebhookAuth;
  /** For Retry-After dates and the signature's timestamp; injectable for tests. */
  now?: () => number;
}

/** Why an attempt did not deliver: the receiver's status, no answer in time, the network, or the caller's signal. */
export type PostFailureCause = 'status' | 'timeout' | 'network' | 'aborted';

export type PostResult =
  | { outcome: 'delivered'; status: number }
  /** A 4xx that retrying cannot fix. */
  | { outcome: 'rejected'; status: number; reason: string }
  | { outcome: 'retry'; cause: PostFailureCause; reason: string; status?: number; retryAfterMs?: number };

/**
 * A connection pool for webhook posts. A connect that never completes must
 * not outlive the attempt it belongs to, so the connect timeout is the
 * attempt's.
 */
export function createWebhookAgent(options: { connections: number; timeoutMs: number }): Agent {
  return new Agent({ connections: Math.max(1, options.connections), connect: { timeout: options.timeoutMs }, keepAliveTimeout: 4_000 });
}

export async function postWebhook(post: WebhookPost): Promise<PostResult> {
  // One signal for the attempt: it ends on the timeout or the caller's signal, whichever comes first.
  const attempt = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    attempt.abort();
  }, post.timeoutMs);
  // The caller's own wait keeps the process alive if it must; this timer only bounds the attempt.
  timer.unref();
  const outer = post.signal;
  const onAbort = (): void => attempt.abort();
  outer?.addEventListener('abort', onAbort, { once: true });
  try {
    if (outer?.aborted) return { outcome: 'retry', cause: 'aborted', reason: 'interrupted' };
    const now = post.now ?? Date.now;
    const response = await request(withoutUserInfo(post.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...authHeaders(post.url, post.auth ?? NO_WEBHOOK_AUTH, post.body, now()) },
      body: post.body,
      dispatcher: post.dispatcher,
      signal: attempt.signal,
    });
    // The status is the answer; a reply body that stalls or breaks does not undo it.
    await response.body.dump({ limit: RESPONSE_READ_LIMIT, signal: attempt.signal }).catch(() => undefined);
    const status = response.statusCode;
    const reason = `HTTP ${status}`;
    if (status >= 200 && status < 300) return { outcome: 'delivered', status };
    if (!isRetryableStatus(status)) return { outcome: 'rejected', status, reason };
    const asked = mayAskToWait(status) ? retryAfterMs(response.headers['retry-after'], now()) : undefined;
    return asked !== undefined
      ? { outcome: 'retry', cause: 'status', status, reason, retryAfterMs: Math.min(asked, post.maxRetryAfterMs) }
      : { outcome: 'retry', cause: 'status', status, reason };
  } catch (error) {
    if (outer?.aborted) return { outcome: 'retry', cause: 'aborted', reason: 'interrupted' };
    if (timedOut) return { outcome: 'retry', cause: 'timeout', reason: `no response within ${post.timeoutMs} ms` };
    return { outcome: 'retry', cause: 'network', reason: classifyNetworkError(error, attempt.signal, webhookDisplayName(post.url)).message };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}
