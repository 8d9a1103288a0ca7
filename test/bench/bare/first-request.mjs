// Bare baseline for the first-step overhead: one GET with undici in a fresh
// process, its HTTP parser warmed first as Ceiling's is, timed from the call to
// the end of the body, the way a step's clock should run. Prints the time in ms. Not compiled by tsc.
//
//   node first-request.mjs URL
import { performance } from 'node:perf_hooks';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: node first-request.mjs URL\n');
  process.exit(2);
}
// Ceiling warms undici (its WebAssembly parser) with one loopback request
// before the first journey; the baseline does the same, so the figure is
// Ceiling's own overhead on the step, not the parser's compile time.
const warmServer = createServer((_request, response) => response.end('ok'));
await new Promise((resolve) => warmServer.listen(0, '127.0.0.1', resolve));
const warmAgent = new Agent();
await (await request(`http://127.0.0.1:${warmServer.address().port}/`, { dispatcher: warmAgent })).body.text();
await warmAgent.destroy();
warmServer.closeAllConnections();
warmServer.close();

const started = performance.now();
const response = await request(url, { headers: { 'user-agent': 'bare', 'accept-encoding': 'gzip, deflate, br' } });
const body = await response.body.text();
const ms = performance.now() - started;
if (response.statusCode !== 200) {
  process.stderr.write(`first-request: status ${response.statusCode}: ${body.slice(0, 200)}\n`);
  process.exit(1);
}
process.stdout.write(`${ms.toFixed(2)}\n`);
