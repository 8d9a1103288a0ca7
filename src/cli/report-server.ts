/**
 * Serves an HTML report on loopback for `ceiling show-report --serve`: the
 * report itself at `/`, and the files beside it (screenshots, traces) that
 * its relative links point to. Nothing outside the report's folder is
 * reachable, symbolic links included; only GET and HEAD are answered.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.png': 'image/png',
  '.zip': 'application/zip',
  '.txt': 'text/plain; charset=utf-8',
};

// The report runs no script and loads nothing from the network; the header says so again for the served copy.
const REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export interface ReportServer {
  url: string;
  close(): Promise<void>;
}

const isInside = (dir: string, file: string): boolean => {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
};

/** The real file a request path names, or undefined when it is not a file inside the folder. */
async function fileFor(reportFile: string, folder: string, requestPath: string): Promise<string | undefined> {
  if (requestPath === '/') return reportFile;
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  try {
    const file = await realpath(path.join(folder, decoded));
    if (!isInside(folder, file)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function answer(reportFile: string, folder: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const requestPath = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = await fileFor(reportFile, folder, requestPath);
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const contentType = file === reportFile ? CONTENT_TYPES['.html']! : (CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.writeHead(200, {
      'content-type': contentType,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...(contentType.startsWith('text/html') ? { 'content-security-policy': REPORT_POLICY } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };
}

/** Listens on 127.0.0.1:port (0 picks a free one). */
export async function startReportServer(reportFile: string, port: number): Promise<ReportServer> {
  const report = await realpath(reportFile);
  const folder = path.dirname(report);
  const handle = answer(report, folder);
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
