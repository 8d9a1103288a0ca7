import { afterEach, describe, expect, it } from 'vitest';
import type { GateFinding } from '../../src/gate/model.js';
import { gateNotification, sendGateNotifications, type GateNotifyOptions } from '../../src/gate/notify.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { bobLeavesFinding, failedRollbackResult, failResult, inconclusiveResult, passResult } from './gate-fixture.js';
import { answer, answerInTurn, neverAnswer, startReceiver, type Receiver, type Reply } from './gate-receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  while (receivers.length > 0) await receivers.pop()!.close();
});

async function receiver(reply: Reply): Promise<Receiver> {
  const started = await startReceiver(reply);
  receivers.push(started);
  return started;
}

interface SlackSection {
  type: string;
  text?: { text: string };
  elements?: { text: string }[];
}
const slackText = (payload: Record<string, unknown>): string =>
  (payload.blocks as SlackSection[]).map((block) => block.text?.text ?? block.elements?.map((element) => element.text).join(' ') ?? '').join('\n');

/** Fast retries and a short timeout, so a test never waits on the defaults. */
function send(overrides: Partial<GateNotifyOptions>): { logs: string[]; run: ReturnType<typeof sendGateNotifications> } {
  const logs: string[] = [];
  const run = sendGateNotifications({
    webhooks: [],
    slack: [],
    result: failResult(),
    redactor: new Redactor(),
    timeoutMs: 2_000,
    retryDelayMs: 10,
    log: (line) => logs.push(line),
    ...overrides,
  });
  return { logs, run };
}

describe('gateNotification', () => {
  it('builds the documented JSON body, urgent when the gate failed', () => {
    const body = gateNotification(failResult(), 'json');
    expect(body).toMatchObject({
      schemaVersion: 1,
      source: 'ceiling',
      event: 'gate',
      verdict: 'fail',
      urgent: true,
      reason: failResult().reason,
      timeToDetectMs: 12_300,
      rollback: { ok: true, exitCode: 0 },
      recovery: { recovered: true, timeToRecoverMs: 8_400 },
    });
    expect(body.targets).toEqual([
      { name: 'chat-1', version: '1.4.2', status: 'passed', cleanRounds: 2 },
      { name: 'chat-2', version: '1.4.1', status: 'failed', cleanRounds: 0 },
    ]);
    expect(gateNotification(passResult(), 'json').urgent).toBe(false);
    expect(gateNotification(inconclusiveResult(), 'json').urgent).toBe(false);
  });

  it('bounds the findings it carries and says how many were left out', () => {
    const result = failResult();
    result.findings = Array.from({ length: 45 }, (_, index): GateFinding => bobLeavesFinding(index + 1));
    const body = gateNotification(result, 'json');
    expect(body.findings).toHaveLength(20);
    expect(body.findingsOmitted).toBe(25);
  });

  it('makes a failed gate an URGENT Slack message that pages the channel', () => {
    const body = gateNotification(failResult(), 'slack');
    expect(body.text).toMatch(/^:rotating_light: URGENT <!channel> deploy gate FAILED: target chat-2/);
    const text = slackText(body);
    expect(text).toContain('• *chat-2* `1.4.1 (expected 1.4.2)` failed (0 clean rounds)');
    expect(text).toContain('• *chat-2* › chat announces who left › bob leaves: `CEIL_WS_EXPECT_TIMEOUT` no message matched within 2s');
    expect(text).toContain('detected in 12.3s');
    expect(gateNotification(passResult(), 'slack').text).toMatch(/^:white_check_mark: deploy gate passed: /);
    expect(JSON.stringify(gateNotification(passResult(), 'slack'))).not.toContain('URGENT');
  });

  it('shows a failed rollback and its output in Slack', () => {
    const text = slackText(gateNotification(failedRollbackResult(), 'slack'));
    expect(text).toContain(':x: *ROLLBACK FAILED (exit 3)*: `./rollback.sh 1.4.1`');
    expect(text).toContain('```kubectl: error: deployment "chat" not found\nrollback aborted```');
    expect(text).toContain('NOT recovered within 2.0m (4 rounds)');
  });

  it('keeps user text from turning into Slack mentions or links', () => {
    const result = failResult();
    result.reason = 'deploy <!here> by <@U123> see <http://evil|docs>';
    const body = gateNotification(result, 'slack');
    expect(body.text).toContain('deploy &lt;!here&gt; by &lt;@U123&gt; see &lt;http://evil|docs&gt;');
  });
});

describe('sendGateNotifications', () => {
  it('posts the JSON body to webhooks and the Slack body to Slack hooks', async () => {
    const hook = await receiver(answer(200));
    const slack = await receiver(answer(200));
    const { run, logs } = send({ webhooks: [`${hook.base}/hooks/gate`], slack: [`${slack.base}/services/T0/B0/xyz`] });
    expect(await run).toEqual({ delivered: 2, failed: 0 });
    expect(logs).toEqual([]);

    const [json] = hook.received;
    expect(json).toMatchObject({ method: 'POST', path: '/hooks/gate' });
    expect(json!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json!.body)).toMatchObject({ event: 'gate', verdict: 'fail', urgent: true });
    const slackBody = JSON.parse(slack.received[0]!.body) as { text: string; blocks: unknown[] };
    expect(slackBody.text).toMatch(/^:rotating_light: URGENT/);
    expect(slackBody.blocks.length).toBeGreaterThan(1);
  });

  it('redacts a secret planted in the result from every body', async () => {
    const redactor = new Redactor();
    redactor.add('hunter2-api-key');
    const result = failedRollbackResult();
    result.reason = 'login failed with hunter2-api-key';
    result.rollback!.output = `curl -H "Authorization: Bearer ${Buffer.from('hunter2-api-key').toString('base64')}"`;
    const hook = await receiver(answer(200));
    const slack = await receiver(answer(200));
    const { run } = send({ webhooks: [hook.base], slack: [slack.base], result, redactor });
    expect(await run).toEqual({ delivered: 2, failed: 0 });
    for (const body of [hook.received[0]!.body, slack.received[0]!.body]) {
      expect(body).not.toContain('hunter2-api-key');
      expect(body).not.toContain(Buffer.from('hunter2-api-key').toString('base64'));
      expect(body).toContain('[REDACTED:secret]');
      expect(() => JSON.parse(body)).not.toThrow();
    }
  });

  it('retries a 500 and delivers on the next attempt', async () => {
    const hook = await receiver(answerInTurn(500));
    const { run, logs } = send({ webhooks: [hook.base] });
    expect(await run).toEqual({ delivered: 1, failed: 0 });
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.body).toBe(hook.received[0]!.body);
    expect(logs).toEqual([]);
  });

  it('gives up after the attempts it was given, naming the host but not the path', async () => {
    const hook = await receiver(answer(503));
    const { run, logs } = send({ webhooks: [`${hook.base}/services/T0/B0/s3cr3t-token`], attempts: 3 });
    expect(await run).toEqual({ delivered: 0, failed: 1 });
    expect(hook.received).toHaveLength(3);
    expect(logs).toEqual([`notify: gate notification to ${hook.base} failed after 3 attempts (last: HTTP 503)`]);
  });

  it('does not retry a receiver that refuses the request', async () => {
    const hook = await receiver(answer(404));
    const { run, logs } = send({ webhooks: [`${hook.base}/services/T0/B0/s3cr3t-token`] });
    expect(await run).toEqual({ delivered: 0, failed: 1 });
    expect(hook.received).toHaveLength(1);
    expect(logs[0]).toBe(`notify: gate notification to ${hook.base} was rejected (HTTP 404); not retried: check the webhook URL and its token`);
  });

  it('bounds a hanging receiver by the timeout and the attempts', async () => {
    const hung = await receiver(neverAnswer);
    const healthy = await receiver(answer(200));
    const started = Date.now();
    const { run, logs } = send({ webhooks: [hung.base, healthy.base], timeoutMs: 150, attempts: 2 });
    expect(await run).toEqual({ delivered: 1, failed: 1 });
    const elapsed = Date.now() - started;
    // Two attempts of 150 ms and one 10 ms wait; the margin is for a busy machine, not for a third attempt.
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3_000);
    expect(hung.received).toHaveLength(2);
    expect(logs).toEqual([`notify: gate notification to ${hung.base} failed after 2 attempts (last: no response within 150 ms)`]);
  });

  it('stops retrying when interrupted', async () => {
    const hook = await receiver(answer(500));
    const controller = new AbortController();
    const { run, logs } = send({ webhooks: [hook.base], attempts: 5, retryDelayMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(await run).toEqual({ delivered: 0, failed: 1 });
    expect(hook.received).toHaveLength(1);
    expect(logs[0]).toMatch(/abandoned after 1 attempt: interrupted \(last: HTTP 500\)$/);
  });

  it('counts a URL it cannot use as failed without quoting it', async () => {
    const { run, logs } = send({ slack: ['hooks.slack.com/services/s3cr3t'] });
    expect(await run).toEqual({ delivered: 0, failed: 1 });
    expect(logs).toEqual(['notify: webhook #1 is not an absolute http:// or https:// URL; skipped']);
  });
});
