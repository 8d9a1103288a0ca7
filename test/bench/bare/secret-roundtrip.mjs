// Bare baseline for the secret-roundtrip journey: the same three calls and the
// same checks, made with undici directly. Not compiled by tsc; the bench runs it
// from the source folder.
//
//   DROP_URL=http://127.0.0.1:PORT node secret-roundtrip.mjs [journeys] [concurrency]
//
// Exits 0 when every roundtrip passed, 1 with a message on the first failure.
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';

const base = process.env.DROP_URL;
const journeys = Number(process.argv[2] ?? 1);
const concurrency = Number(process.argv[3] ?? 1);
if (!base || !Number.isInteger(journeys) || journeys < 1 || journeys > 10_000 || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: DROP_URL=... node secret-roundtrip.mjs [journeys 1..10000] [concurrency >= 1]\n');
  process.exit(2);
}

// The same pool shape the ceiling http step uses: one keep-alive agent per run.
const dispatcher = new Agent({ keepAliveTimeout: 4_000 });
// Per-request bounds, like a journey's 10s deadline.
const limits = { dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function roundtrip(n) {
  const value = randomBytes(21).toString('base64url').slice(0, 24);

  const created = await request(`${base}/secrets`, {
    ...limits,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  check(created.statusCode === 201, `journey ${n} create: status ${created.statusCode}, expected 201`);
  const { id } = await created.body.json();
  check(typeof id === 'string', `journey ${n} create: id is ${typeof id}, expected string`);

  const read = await request(`${base}/secrets/${id}`, limits);
  check(read.statusCode === 200, `journey ${n} read back: status ${read.statusCode}, expected 200`);
  const readBody = await read.body.json();
  check(readBody.value === value, `journey ${n} read back: value differs`);

  const gone = await request(`${base}/secrets/${id}`, limits);
  check(gone.statusCode === 404, `journey ${n} gone once read: status ${gone.statusCode}, expected 404`);
  // The journey does not look at the body but still reads it; so does this.
  await gone.body.text();
}

let next = 0;
async function worker() {
  while (next < journeys) await roundtrip(++next);
}

// Bounded in time as well as in count: a hung target must not hang the bench.
const overall = setTimeout(() => {
  process.stderr.write('bare secret-roundtrip: gave up after 60s\n');
  process.exit(1);
}, 60_000);
overall.unref();

try {
  await Promise.all(Array.from({ length: Math.min(concurrency, journeys) }, worker));
} catch (error) {
  process.stderr.write(`bare secret-roundtrip: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  await dispatcher.destroy();
}
