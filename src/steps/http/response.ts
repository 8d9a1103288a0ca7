import type { Readable } from 'node:stream';
import { StepFailure } from '../../journey/failure.js';
import { parseByteSize } from '../../journey/byte-size.js';

/** What the http step keeps of a response: enough to assert and capture, bounded in size. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  contentType: string;
  latencyMs: number;
  url: string;
  redirects: number;
}

/**
 * Redacts secrets from text a step is about to cut short for a message. It
 * must run before the cut: half a secret no longer matches the redactor at the
 * output boundary, so a truncated excerpt would leak the other half.
 */
export type Redact = (text: string) => string;
export const keepText: Redact = (text) => text;

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 ** 2;

export function byteLimit(size: number | string | undefined): number {
  if (size === undefined) return DEFAULT_MAX_BODY_BYTES;
  if (typeof size === 'number') return size;
  return parseByteSize(size) ?? DEFAULT_MAX_BODY_BYTES;
}

/**
 * Reads a body stream up to a cap. Going over it destroys the stream at once,
 * so a huge or endless body costs at most `limit` bytes of memory. Read with
 * events rather than `for await`, whose async iterator cost a measurable share
 * of a short journey.
 */
export function readCappedBody(body: Readable, limit: number, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Destroying the stream makes it emit an error of its own; it is expected and must not go unhandled.
        body.on('error', () => undefined);
        body.destroy();
        reject(
          new StepFailure('protocol', 'CEIL_HTTP_BODY_TOO_LARGE', `response body from ${url} is larger than the ${limit}-byte cap`, {
            hint: 'raise maxBody on this step if such a large body is expected',
          }),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}

export function parseJsonBody(response: HttpResponse, redact: Redact = keepText): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    const excerpt = redact(response.body).slice(0, 120);
    throw new StepFailure('protocol', 'CEIL_HTTP_NOT_JSON', `expected a JSON body but got ${response.contentType || 'no content-type'}: ${JSON.stringify(excerpt)}`, {
      expected: 'JSON',
      actual: excerpt,
    });
  }
}
