import http from 'node:http';

/** The daemon's listening socket: how it starts, with limits against quiet clients, and how it ends. */

export async function listenHttp(handler: http.RequestListener, listen: { host: string; port: number }): Promise<http.Server> {
  const server = http.createServer(handler);
  // A scraper that opens a connection and goes quiet must not hold a socket for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export async function closeHttp(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Requests still open after a moment (a slow scraper) are cut; the process is about to exit.
    const timer = setTimeout(() => server.closeAllConnections(), 1_000);
    timer.unref();
  });
}
