import { z } from 'zod';
import { HttpProblem } from './http-exchange.js';

/**
 * What a caller may ask when it starts runs (POST /api/v1/run, POST
 * /api/v1/checks): journeys by name or a tag, nothing else; and what the
 * daemon answers. No URLs, variables or files, so the token cannot be used to
 * make the daemon send arbitrary requests.
 */

export interface TriggerRequest {
  journeys?: string[];
  tag?: string;
}

export interface TriggerResult {
  started: string[];
  queued: string[];
  busy: string[];
  unknown: string[];
}

const triggerBody = z.strictObject({
  journey: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  tag: z.string().min(1).optional(),
});

export function parseTriggerBody(text: string): TriggerRequest {
  if (text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HttpProblem(
      400,
      `the request body is not valid JSON: ${(error as Error).message}`,
      'send {"journey": "name"}, {"journey": ["a", "b"]}, {"tag": "critical"}, or no body to run every journey',
    );
  }
  const parsed = triggerBody.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`);
    throw new HttpProblem(
      400,
      `the request body is not a run request: ${problems.join('; ')}`,
      'send {"journey": "name"}, {"journey": ["a", "b"]}, {"tag": "critical"}, or no body to run every journey',
    );
  }
  const { journey, tag } = parsed.data;
  return {
    ...(journey !== undefined ? { journeys: [...new Set(typeof journey === 'string' ? [journey] : journey)] } : {}),
    ...(tag !== undefined ? { tag } : {}),
  };
}
