import { afterEach, describe, expect, it } from 'vitest';
import { pushVerdict, PushgatewayError, verdictRegistry } from '../../src/gate/pushgateway.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { failResult, passResult } from './gate-fixture.js';
import { answer, neverAnswer, startReceiver, type Receiver, type Reply } from './gate-receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  while (receivers.length > 0) await receivers.pop()!.close();
});

async function receiver(reply: Reply): Promise<Receiver> {
  const started = await startReceiver(reply);
  receivers.push(started);
  return started;
}

/** The text exposition format, line by line: HELP and TYPE comments, then `name{labels} value`. */
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|NaN|[+-]Inf)$/;
const COMMENT_LINE = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/;

function expectValidExposition(body: string): void {
  const lines = body.split('\n').filter((line) => line !== '');
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(COMMENT_LINE.test(line) || SAMPLE_LINE.test(line), `not exposition: ${line}`).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<PushgatewayError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PushgatewayError);
  return error as PushgatewayError;
}

describe('pushVerdict', () => {
  it('PUTs the verdict, by target and version, to the job and grouping path', async () => {
    const gateway = await receiver(answer(200));
    await pushVerdict({ url: gateway.base, result: failResult(), grouping: { environment: 'production' }, redactor: new Redactor() });

    expect(gateway.received).toHaveLength(1);
    const [push] = gateway.received;
    expect(push!.method).toBe('PUT');
    expect(push!.path).toBe('/metrics/job/ceiling_gate/environment/production');
    expect(push!.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expectValidExposition(push!.body);
    const samples = push!.body.split('\n').filter((line) => !line.startsWith('#'));
    expect(samples).toEqual(
      expect.arrayContaining([
        'ceiling_gate_verdict{verdict="pass"} 0',
        'ceiling_gate_verdict{verdict="fail"} 1',
        'ceiling_gate_verdict{verdict="inconclusive"} 0',
        'ceiling_gate_exit_code 1',
        'ceiling_gate_target_up{target="chat-1",version="1.4.2"} 1',
        'ceiling_gate_target_up{target="chat-2",version="1.4.1"} 0',
        'ceiling_gate_time_to_detect_seconds 12.3',
        'ceiling_gate_time_to_recover_seconds 8.4',
        'ceiling_gate_rollback_ok 1',
        'ceiling_gate_last_run_timestamp_seconds 1735725750',
      ]),
    );
  });

  it('uses the job name given, and keeps a path prefix in the gateway URL', async () => {
    const gateway = await receiver(answer(202));
    await pushVerdict({ url: `${gateway.base}/pushgateway`, job: 'deploy_gate', result: passResult(), redactor: new Redactor() });
    expect(gateway.received[0]?.path).toBe('/pushgateway/metrics/job/deploy_gate');
  });

  it('leaves out what did not happen rather than pushing zeros', async () => {
    const body = await verdictRegistry(passResult(), new Redactor()).metrics();
    expect(body).toContain('ceiling_gate_verdict{verdict="pass"} 1');
    expect(body).not.toContain('ceiling_gate_time_to_detect_seconds');
    expect(body).not.toContain('ceiling_gate_time_to_recover_seconds');
    expect(body).not.toContain('ceiling_gate_rollback_ok');
  });

  it('labels a target without a version probe with an empty version', async () => {
    const result = passResult();
    result.targets[0]!.version = undefined;
    expect(await verdictRegistry(result, new Redactor()).metrics()).toContain('ceiling_gate_target_up{target="chat-1",version=""} 1');
  });

  it('redacts secrets in label values', async () => {
    const redactor = new Redactor();
    redactor.add('tok-9f8e7d6c5b');
    const result = failResult();
    result.targets[0]!.name = 'chat-1?token=tok-9f8e7d6c5b';
    const gateway = await receiver(answer(200));
    await pushVerdict({ url: gateway.base, result, redactor });
    const body = gateway.received[0]!.body;
    expect(body).not.toContain('tok-9f8e7d6c5b');
    expect(body).toContain('target="chat-1?token=[REDACTED:secret]"');
    expectValidExposition(body);
  });

  it('raises PushgatewayError with the status and host, never the credentials in the URL', async () => {
    const gateway = await receiver(answer(500, 'pushed metrics are invalid or inconsistent with existing metrics'));
    const url = new URL(gateway.base);
    url.username = 'ci';
    url.password = 's3cr3t-pass';
    const error = await rejection(pushVerdict({ url: url.href, result: failResult(), redactor: new Redactor() }));
    expect(error.message).toBe(
      `the Pushgateway at ${gateway.base} refused the push with HTTP 500: pushed metrics are invalid or inconsistent with existing metrics`,
    );
    expect(error.code).toBe('CEIL_GATE_PUSHGATEWAY');
    expect(error.message).not.toContain('s3cr3t-pass');
    // The credentials did reach the gateway, as Basic auth.
    expect(gateway.received[0]?.headers.authorization).toBe(`Basic ${Buffer.from('ci:s3cr3t-pass').toString('base64')}`);
  });

  it('gives up on a gateway that never answers, within the timeout', async () => {
    const gateway = await receiver(neverAnswer);
    const started = Date.now();
    const error = await rejection(pushVerdict({ url: gateway.base, result: failResult(), timeoutMs: 200, redactor: new Redactor() }));
    expect(error.message).toBe(`the Pushgateway at ${gateway.base} did not answer within 200 ms`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('says when the gateway cannot be reached', async () => {
    const gateway = await receiver(answer(200));
    const base = gateway.base;
    await receivers.pop()!.close();
    const error = await rejection(pushVerdict({ url: base, result: failResult(), redactor: new Redactor() }));
    expect(error.message).toMatch(new RegExp(`^cannot reach the Pushgateway at ${base.replace(/[.:/]/g, '\\$&')} \\(ECONNREFUSED\\)`));
  });

  it('refuses a URL or grouping it cannot push to, without quoting the URL', async () => {
    const invalid = await rejection(pushVerdict({ url: 'not a url with s3cr3t', result: passResult(), redactor: new Redactor() }));
    expect(invalid.message).not.toContain('s3cr3t');
    await rejection(pushVerdict({ url: 'ftp://gateway:9091', result: passResult(), redactor: new Redactor() }));
    const slash = await rejection(
      pushVerdict({ url: 'http://127.0.0.1:9', grouping: { environment: 'eu/west' }, result: passResult(), redactor: new Redactor() }),
    );
    expect(slash.message).toBe('grouping label environment must have a non-empty value without "/"');
    await rejection(pushVerdict({ url: 'http://127.0.0.1:9', grouping: { 'bad-name': 'x' }, result: passResult(), redactor: new Redactor() }));
  });
});
