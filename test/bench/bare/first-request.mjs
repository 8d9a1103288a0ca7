// Bare baseline for the first-step overhead: one GET with undici in a fresh
// process, timed from the call to the end of the body, the way a step's clock
// should run. Prints the time in ms. Not compiled by tsc.
//
//   node first-request.mjs URL
import { performance } from 'node:perf_hooks';
import { request } from 'undici';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: node first-request.mjs URL\n');
  process.exit(2);
}
const started = performance.now();
const response = await request(url, { headers: { 'user-agent': 'bare', 'accept-encoding': 'gzip, deflate, br' } });
const body = await response.body.text();
const ms = performance.now() - started;
if (response.statusCode !== 200) {
  process.stderr.write(`first-request: status ${response.statusCode}: ${body.slice(0, 200)}\n`);
  process.exit(1);
}
process.stdout.write(`${ms.toFixed(2)}\n`);
