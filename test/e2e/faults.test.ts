/**
 * Misbehaving servers through the real CLI: each fault must end in a
 * classified failure (class + stable code) on the step that met it, the
 * process must exit on its own, and the exit code must say "failed".
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBlackHole, startFaultServer, type FaultServer } from '../../fixtures/faults.js';
import { Cleanup, closedPort, outcomeOf, runWithJson, show, startFlakyServer, UNRESOLVABLE_HOST, type JsonRun } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let faults: FaultServer;
let other: FaultServer;
beforeAll(async () => {
  faults = await startFaultServer();
  other = await startFaultServer();
});
afterAll(async () => {
  await Promise.all([faults?.close(), other?.close()]);
});

/** The fault server's addresses as environment variables for journeys. */
function faultEnv(): NodeJS.ProcessEnv {
  return {
    FAULT_URL: faults.url,
    FAULT_WS: faults.wsUrl.replace(/\/$/, ''),
    FAULT_TLS: faults.tlsUrl,
    OTHER_URL: other.url,
  };
}

/** Runs one journey file (YAML text) with the fault env and a JSON report. */
async function runJourney(yaml: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, killAfterMs?: number): Promise<JsonRun> {
  const dir = await cleanup.dir({ 'journey.yaml': yaml });
  const run = await runWithJson(cleanup, ['run', dir, ...extraArgs], { env: { ...faultEnv(), ...env }, ...(killAfterMs ? { killAfterMs } : {}) });
  expect(run.killed, `the CLI did not exit on its own\n${show(run)}`).toBe(false);
  expect(run.json, show(run)).toBeDefined();
  return run;
}

/** One journey, one failing step: checks the exit code, the step, the class and the code. */
interface WantedFault {
  journey: string;
  step: string;
  class: string;
  code: string;
  exit?: number;
  /** A hang detector, far above the journey's own bounds; not a performance threshold. */
  killAfterMs?: number;
}

async function expectFault(yaml: string, want: WantedFault) {
  const run = await runJourney(yaml, [], {}, want.killAfterMs);
  expect(run.code, show(run)).toBe(want.exit ?? 1);
  const outcome = outcomeOf(run.json, want.journey);
  expect(outcome.step?.name, show(run)).toBe(want.step);
  expect(outcome.failure, show(run)).toMatchObject({ class: want.class, code: want.code });
  // The console names the step, the class and the code too.
  expect(run.stdout).toContain(want.step);
  expect(run.stdout).toContain(`${want.class} ${want.code}`);
  expect(run.stderr, 'no warnings or stack traces').toBe('');
  return { run, outcome };
}

describe('connection faults', () => {
  it('connection refused → connect / CEIL_CONNECT_REFUSED', async () => {
    const port = await closedPort();
    const { outcome } = await expectFault(
      `name: refused
steps:
  - name: call a closed port
    http: { url: "http://127.0.0.1:${port}/json" }
    expect: { status: 200 }
`,
      { journey: 'refused', step: 'call a closed port', class: 'connect', code: 'CEIL_CONNECT_REFUSED' },
    );
    expect(outcome.status).toBe('error');
    expect(outcome.failure?.message).toContain(`127.0.0.1:${port}`);
  });

  it('WebSocket connection refused → connect / CEIL_CONNECT_REFUSED', async () => {
    const port = await closedPort();
    await expectFault(
      `name: ws refused
steps:
  - name: connect to a closed port
    ws.connect: { as: alice, url: "ws://127.0.0.1:${port}/" }
  - ws.expect: { as: alice, text: hi }
`,
      { journey: 'ws refused', step: 'connect to a closed port', class: 'connect', code: 'CEIL_CONNECT_REFUSED' },
    );
  });

  it('a host that cannot be resolved → dns', async () => {
    await expectFault(
      `name: unresolvable
steps:
  - name: call a host that does not resolve
    http: { url: "http://${UNRESOLVABLE_HOST}/json" }
    expect: { status: 200 }
`,
      { journey: 'unresolvable', step: 'call a host that does not resolve', class: 'dns', code: 'CEIL_DNS_LOOKUP' },
    );
  });

  it('TCP accepted but never answered, with a step timeout → timeout, and the process exits on its own', async () => {
    const { outcome, run } = await expectFault(
      `name: hang
timeout: 20s
steps:
  - name: wait for an answer that never comes
    timeout: 500ms
    http: { url: "{{ env.FAULT_URL }}/hang" }
    expect: { status: 200 }
  - name: never reached
    http: { url: "{{ env.FAULT_URL }}/json" }
    expect: { status: 200 }
`,
      { journey: 'hang', step: 'wait for an answer that never comes', class: 'timeout', code: 'CEIL_TIMEOUT_STEP' },
    );
    expect(outcome.journey.attempts[0]?.steps.map((step) => step.status)).toEqual(['error', 'skipped']);
    expect(run.stdout).toContain('500ms');
  });

  // Fixed in src/steps/http/request.ts: undici kept the half-open TLS socket (and so the process) alive
  // for its 10 s connect timeout after the run had already reported.
  it('a TLS handshake into a black hole → timeout, and the process exits on its own', async () => {
    const hole = cleanup.add(await startBlackHole());
    await expectFault(
      `name: black hole
steps:
  - name: handshake with silence
    timeout: 400ms
    http: { url: "https://127.0.0.1:${hole.port}/" }
    expect: { status: 200 }
`,
      // undici's connect timeout is 10 s: a process held by the half-open socket is killed first.
      { journey: 'black hole', step: 'handshake with silence', class: 'timeout', code: 'CEIL_TIMEOUT_STEP', killAfterMs: 6_000 },
    );
  });

  it('a wss:// handshake into a black hole → timeout, and the process exits on its own', async () => {
    const hole = cleanup.add(await startBlackHole());
    await expectFault(
      `name: ws black hole
steps:
  - name: wss handshake with silence
    timeout: 400ms
    ws.connect: { as: alice, url: "wss://127.0.0.1:${hole.port}/" }
  - ws.expect: { as: alice, text: hello }
`,
      { journey: 'ws black hole', step: 'wss handshake with silence', class: 'timeout', code: 'CEIL_WS_HANDSHAKE_TIMEOUT', killAfterMs: 6_000 },
    );
  });

  it('a body dripping one byte at a time → the journey deadline fires', async () => {
    await expectFault(
      `name: drip
timeout: 1s
steps:
  - name: read a slow body
    http: { url: "{{ env.FAULT_URL }}/drip" }
    expect: { status: 200 }
`,
      { journey: 'drip', step: 'read a slow body', class: 'timeout', code: 'CEIL_TIMEOUT_JOURNEY' },
    );
  });
});

describe('WebSocket faults', () => {
  it('an upgrade that is never answered → timeout', async () => {
    await expectFault(
      `name: ws hang
timeout: 20s
steps:
  - name: connect
    ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-hang", handshakeTimeout: 400ms }
  - ws.expect: { as: alice, text: hello }
`,
      { journey: 'ws hang', step: 'connect', class: 'timeout', code: 'CEIL_WS_HANDSHAKE_TIMEOUT' },
    );
  });

  it('an upgrade that is never answered, bounded only by the step timeout → timeout', async () => {
    await expectFault(
      `name: ws hang step
steps:
  - name: connect
    timeout: 400ms
    ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-hang" }
  - ws.expect: { as: alice, text: hello }
`,
      { journey: 'ws hang step', step: 'connect', class: 'timeout', code: 'CEIL_WS_HANDSHAKE_TIMEOUT' },
    );
  });

  it('a peer that never sends → assertion CEIL_WS_EXPECT_TIMEOUT', async () => {
    const { outcome } = await expectFault(
      `name: silent
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-silent" }
  - name: expect a greeting
    ws.expect: { as: alice, text: hello, within: 300ms }
`,
      { journey: 'silent', step: 'expect a greeting', class: 'assertion', code: 'CEIL_WS_EXPECT_TIMEOUT' },
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.failure?.expected).toEqual({ text: 'hello' });
    expect(outcome.failure?.actual).toEqual([]);
  });

  it('an abrupt close is seen as 1006', async () => {
    const run = await runJourney(`name: abrupt
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-abrupt" }
  - ws.expect: { as: alice, text: hello, within: 2s }
  - name: cut without a close frame
    ws.expectClosed: { as: alice, code: 1006, within: 2s }
`);
    expect(run.code, show(run)).toBe(0);
    expect(outcomeOf(run.json, 'abrupt').status).toBe('passed');
    expect(run.json?.journeys[0]?.assertions).toBe(2);
  });

  it('a message awaited on a connection that gets cut → CEIL_WS_CLOSED_WHILE_EXPECTING, at once', async () => {
    const { outcome } = await expectFault(
      `name: abrupt expect
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-abrupt" }
  - name: expect a goodbye
    ws.expect: { as: alice, text: goodbye, within: 10s }
`,
      { journey: 'abrupt expect', step: 'expect a goodbye', class: 'assertion', code: 'CEIL_WS_CLOSED_WHILE_EXPECTING' },
    );
    expect(outcome.failure?.message).toContain('1006');
    // What did arrive is shown as actual.
    expect(outcome.failure?.actual).toEqual(['hello']);
  });

  it('expecting the wrong close code names both codes', async () => {
    const { outcome } = await expectFault(
      `name: abrupt code
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-abrupt" }
  - name: expect a normal close
    ws.expectClosed: { as: alice, code: 1000, within: 2s }
`,
      { journey: 'abrupt code', step: 'expect a normal close', class: 'assertion', code: 'CEIL_WS_CLOSE_CODE' },
    );
    expect(outcome.failure).toMatchObject({ expected: 1000, actual: 1006 });
  });
});

describe('HTTP protocol faults', () => {
  it('a non-JSON body where JSON is expected → protocol CEIL_HTTP_NOT_JSON', async () => {
    const { outcome } = await expectFault(
      `name: not json
steps:
  - name: read json
    http: { url: "{{ env.FAULT_URL }}/not-json" }
    expect: { status: 200, json: { ok: true } }
`,
      { journey: 'not json', step: 'read json', class: 'protocol', code: 'CEIL_HTTP_NOT_JSON' },
    );
    expect(outcome.failure?.actual).toBe('<html>oops</html>');
  });

  it('a body over maxBody → protocol CEIL_HTTP_BODY_TOO_LARGE', async () => {
    const { outcome } = await expectFault(
      `name: too big
steps:
  - name: read 10 MB with a 1 MiB cap
    http: { url: "{{ env.FAULT_URL }}/big?bytes=10000000", maxBody: 1MiB }
    expect: { status: 200 }
`,
      { journey: 'too big', step: 'read 10 MB with a 1 MiB cap', class: 'protocol', code: 'CEIL_HTTP_BODY_TOO_LARGE' },
    );
    expect(outcome.failure?.message).toContain('1048576');
  });

  it('a body over the default cap → CEIL_HTTP_BODY_TOO_LARGE; one under it passes', async () => {
    const { outcome } = await expectFault(
      `name: default cap
steps:
  - name: read 2 MB
    http: { url: "{{ env.FAULT_URL }}/big?bytes=2000000" }
    expect: { status: 200 }
  - name: read 10 MB
    http: { url: "{{ env.FAULT_URL }}/big?bytes=10000000" }
    expect: { status: 200 }
`,
      { journey: 'default cap', step: 'read 10 MB', class: 'protocol', code: 'CEIL_HTTP_BODY_TOO_LARGE' },
    );
    expect(outcome.journey.attempts[0]?.steps[0]?.status).toBe('passed');
  });

  it('a redirect loop → protocol CEIL_HTTP_TOO_MANY_REDIRECTS', async () => {
    const { outcome } = await expectFault(
      `name: loop
steps:
  - name: follow the loop
    http: { url: "{{ env.FAULT_URL }}/loop", followRedirects: 3 }
    expect: { status: 200 }
`,
      { journey: 'loop', step: 'follow the loop', class: 'protocol', code: 'CEIL_HTTP_TOO_MANY_REDIRECTS' },
    );
    expect(outcome.failure?.message).toContain('more than 3 redirects');
  });

  it('a redirect loop with the default limit → CEIL_HTTP_TOO_MANY_REDIRECTS', async () => {
    await expectFault(
      `name: loop default
steps:
  - name: follow the loop
    http: { url: "{{ env.FAULT_URL }}/loop" }
    expect: { status: 200 }
`,
      { journey: 'loop default', step: 'follow the loop', class: 'protocol', code: 'CEIL_HTTP_TOO_MANY_REDIRECTS' },
    );
  });

  it('credentials are kept on a same-origin redirect and dropped on a cross-origin one', async () => {
    const run = await runJourney(
      `name: redirects and credentials
steps:
  - name: same origin keeps them
    http:
      url: "{{ env.FAULT_URL }}/redirect-cross?to={{ env.FAULT_URL }}/echo-headers"
      auth: { bearer: same-origin-token }
      headers: { cookie: "session=abc123", x-trace: kept }
    expect:
      status: 200
      json: { host: "{{ env.FAULT_HOST }}", authorization: "Bearer same-origin-token", cookie: "session=abc123", x-trace: kept }
  - name: another origin does not get them
    http:
      url: "{{ env.FAULT_URL }}/redirect-cross?to={{ env.OTHER_URL }}/echo-headers"
      auth: { basic: { user: robot, password: hunter22 } }
      headers: { cookie: "session=abc123", x-trace: kept }
    expect:
      status: 200
      json: { host: "{{ env.OTHER_HOST }}", authorization: { $exists: false }, cookie: { $exists: false }, x-trace: kept }
`,
      [],
      { FAULT_HOST: new URL(faults.url).host, OTHER_HOST: new URL(other.url).host },
    );
    expect(run.code, show(run)).toBe(0);
    expect(outcomeOf(run.json, 'redirects and credentials').journey.assertions).toBe(4);
  });

  it('a cross-origin redirect that drops the credentials makes a check on them fail', async () => {
    const { outcome } = await expectFault(
      `name: cross origin auth
steps:
  - name: expects the token to survive
    http: { url: "{{ env.FAULT_URL }}/redirect-cross?to={{ env.OTHER_URL }}/echo-headers", auth: { bearer: cross-origin-token } }
    expect: { status: 200, json: { authorization: "Bearer cross-origin-token" } }
`,
      { journey: 'cross origin auth', step: 'expects the token to survive', class: 'assertion', code: 'CEIL_HTTP_JSON' },
    );
    expect(outcome.failure?.path).toBe('json.authorization');
    expect(outcome.failure?.actual).toBeUndefined();
  });
});

describe('TLS', () => {
  it('a self-signed certificate fails as tls unless the step says insecure: true', async () => {
    const dir = await cleanup.dir({
      // The insecure journey runs first, so a pooled insecure connection must not leak into the checked one.
      '1-insecure.yaml': `name: insecure on purpose
steps:
  - name: skip the check
    http: { url: "{{ env.FAULT_TLS }}/json", insecure: true }
    expect: { status: 200, json: { ok: true } }
`,
      '2-checked.yaml': `name: checked
steps:
  - name: check the certificate
    http: { url: "{{ env.FAULT_TLS }}/json" }
    expect: { status: 200 }
`,
    });
    const run = await runWithJson(cleanup, ['run', dir, '--concurrency', '1'], { env: faultEnv() });
    expect(run.killed).toBe(false);
    expect(run.code, show(run)).toBe(1);
    expect(outcomeOf(run.json, 'insecure on purpose').status).toBe('passed');
    const checked = outcomeOf(run.json, 'checked');
    expect(checked.step?.name).toBe('check the certificate');
    expect(checked.failure).toMatchObject({ class: 'tls', code: 'CEIL_TLS_CERTIFICATE' });
    expect(checked.failure?.hint).toContain('insecure: true');
    expect(run.stdout).toContain('tls CEIL_TLS_CERTIFICATE');
  });
});

describe('retries', () => {
  const flakyJourney = (retries: string) => `name: flaky once
${retries}steps:
  - name: ask
    http: { url: "{{ env.FLAKY_URL }}/" }
    expect: { status: 200 }
`;

  it('a journey that fails once then passes is flaky: exit 0, and JUnit carries flakyFailure', async () => {
    const server = cleanup.add(await startFlakyServer(1));
    const dir = await cleanup.dir({ 'flaky.yaml': flakyJourney('retries: 1\n') });
    const junit = path.join(await cleanup.dir(), 'junit.xml');
    const run = await runWithJson(cleanup, ['run', dir, '--reporter', `junit=${junit}`], { env: { FLAKY_URL: server.url } });
    expect(run.killed).toBe(false);
    expect(run.code, show(run)).toBe(0);
    expect(server.requests()).toBe(2);
    const outcome = outcomeOf(run.json, 'flaky once');
    expect(outcome.status).toBe('flaky');
    expect(outcome.journey.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'passed']);
    expect(outcome.journey.attempts[0]?.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS', expected: 200, actual: 500 });
    expect(run.json?.totals).toMatchObject({ journeys: 1, flaky: 1, failed: 0 });
    expect(run.stdout).toMatch(/FLAKY\s+flaky once/);

    const xml = await readFile(junit, 'utf8');
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(xml) as {
      testsuites: { '@_failures': string; testsuite: { testcase: Record<string, unknown> } };
    };
    expect(parsed.testsuites['@_failures']).toBe('0');
    const testcase = parsed.testsuites.testsuite.testcase;
    expect(testcase).toHaveProperty('flakyFailure');
    expect(testcase).not.toHaveProperty('failure');
    expect((testcase.flakyFailure as Record<string, string>)['@_type']).toBe('CEIL_HTTP_STATUS');
  });

  it('with --fail-on-flaky the same pass after a retry fails the run (exit 1)', async () => {
    const server = cleanup.add(await startFlakyServer(1));
    const dir = await cleanup.dir({ 'flaky.yaml': flakyJourney('') });
    const run = await runWithJson(cleanup, ['run', dir, '--retries', '1', '--fail-on-flaky'], { env: { FLAKY_URL: server.url } });
    expect(run.code, show(run)).toBe(1);
    expect(outcomeOf(run.json, 'flaky once').status).toBe('flaky');
    expect(run.json).toMatchObject({ status: 'failed', failOnFlaky: true, exitCode: 1 });
  });

  it('a journey that fails on every attempt is failed: exit 1, and JUnit carries failure and rerunFailure', async () => {
    const server = cleanup.add(await startFlakyServer(5));
    const dir = await cleanup.dir({ 'flaky.yaml': flakyJourney('retries: 2\n') });
    const junit = path.join(await cleanup.dir(), 'junit.xml');
    const run = await runWithJson(cleanup, ['run', dir, '--reporter', `junit=${junit}`], { env: { FLAKY_URL: server.url } });
    expect(run.code, show(run)).toBe(1);
    expect(server.requests()).toBe(3);
    expect(outcomeOf(run.json, 'flaky once').status).toBe('failed');
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('<failure');
    expect(xml.match(/<rerunFailure/g)).toHaveLength(2);
  });
});
