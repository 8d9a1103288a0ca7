import { renderedDurationMs } from '../../journey/duration.js';
import type { Executor } from '../executor.js';
import { captureFromResponse, checkHttpExpect } from './expect.js';
import { sendHttp } from './request.js';

export const httpStep: Executor<'http'> = async (step, context) => {
  const spec = context.render(step.spec);
  const expect = step.expect ? context.render(step.expect) : undefined;
  // Rendered with the rest of expect: a templated latency is read, and checked, here.
  const latencyMs = expect?.latency !== undefined ? renderedDurationMs('expect.latency', expect.latency) : undefined;
  const response = await sendHttp(spec, context, latencyMs !== undefined ? { latencyLimit: { ms: latencyMs, text: String(expect!.latency) } } : {});
  const redact = (text: string) => context.redactor.redact(text);
  const assertions = expect ? checkHttpExpect(expect, response, redact) : 0;
  const captured = step.capture ? captureFromResponse(step.capture, response, redact) : undefined;
  return captured ? { assertions, captured } : { assertions };
};
