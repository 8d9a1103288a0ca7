import { pipeline, type Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { StepFailure } from '../../core/failure.js';
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

/** The decoders for a Content-Encoding header, in the order they apply (the reverse of the header's). */
function decodersFor(header: string | undefined): { name: string; make: () => Transform }[] {
  const names = (header ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'identity');
  return names.reverse().map((name) => {
    if (name === 'gzip' || name === 'x-gzip') return { name, make: () => zlib.createGunzip() };
    // zlib's Unzip takes a zlib-wrapped deflate stream (what the standard means) as well as gzip.
    if (name === 'deflate') return { name, make: () => zlib.createUnzip() };
    if (name === 'br') return { name, make: () => zlib.createBrotliDecompress() };
    throw new StepFailure('protocol', 'CEIL_HTTP_BAD_ENCODING', `the response uses content-encoding "${name}", which ceiling cannot decode`, {
      hint: 'ceiling decodes gzip, deflate and br; set an Accept-Encoding header on this step that leaves the others out',
    });
  });
}

/**
 * Reads a body, decoding its Content-Encoding on the way, with `limit`
 * capping the decoded size: a small compressed body that inflates to
 * gigabytes (a compression bomb) stops at the cap with bounded memory.
 */
export async function readBody(body: Readable, contentEncoding: string | undefined, limit: number, url: string): Promise<string> {
  const decoders = decodersFor(contentEncoding);
  if (decoders.length === 0) return readCappedBody(body, limit, url);
  const stages = decoders.map((decoder) => ({ ...decoder, stream: decoder.make() }));
  let badEncoding: StepFailure | undefined;
  for (const stage of stages) {
    stage.stream.once('error', (error: Error & { code?: string }) => {
      // A transport error reaches the decoders too, and is not the body's fault.
      if (!/^(Z_|ERR_BROTLI|ERR__?ZLIB)/.test(error.code ?? '') && !/incorrect header|invalid|unexpected end/i.test(error.message)) return;
      badEncoding ??= new StepFailure(
        'protocol',
        'CEIL_HTTP_BAD_ENCODING',
        `the body from ${url} declares content-encoding ${stage.name} but is not valid ${stage.name} (${error.message})`,
        {
          hint: 'the server labels the body with an encoding it does not have',
        },
      );
    });
  }
  const streams = stages.map((stage) => stage.stream);
  let sawBytes = false;
  body.once('data', () => (sawBytes = true));
  const decoded = pipeline([body, ...streams], () => undefined) as unknown as Readable;
  try {
    return await readCappedBody(decoded, limit, url);
  } catch (error) {
    // An empty body (HEAD, 204, 304) may still carry the header of the entity it stands for.
    if (!sawBytes && badEncoding) return '';
    throw badEncoding ?? error;
  } finally {
    for (const stream of [body, ...streams]) {
      stream.on('error', () => undefined);
      stream.destroy();
    }
  }
}

export function parseJsonBody(response: HttpResponse, redact: Redact = keepText): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    const excerpt = redact(response.body).slice(0, 120);
    throw new StepFailure(
      'protocol',
      'CEIL_HTTP_NOT_JSON',
      `expected a JSON body but got ${response.contentType || 'no content-type'}: ${JSON.stringify(excerpt)}`,
      {
        expected: 'JSON',
        actual: excerpt,
      },
    );
  }
}
