import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { duration, envelopeKeys, httpExpect, journeyHeader, journeyJsonSchema, stepEnvelopeSchema, stepKinds, stepSpecs } from '../../src/journey/schema.js';

interface JsonSchemaObject {
  type?: string;
  properties?: Record<string, JsonSchemaObject>;
  required?: string[];
  additionalProperties?: unknown;
  anyOf?: JsonSchemaObject[];
  items?: JsonSchemaObject;
  pattern?: string;
  minItems?: number;
  $schema?: string;
}

const schema = journeyJsonSchema() as JsonSchemaObject;
const stepBranches = schema.properties?.steps?.items?.anyOf ?? [];
const exampleDir = path.resolve('journeys');

async function exampleJourneys(): Promise<{ file: string; value: Record<string, unknown> }[]> {
  const files = (await readdir(exampleDir)).filter((name) => name.endsWith('.yaml')).sort();
  return Promise.all(files.map(async (file) => ({ file, value: parse(await readFile(path.join(exampleDir, file), 'utf8')) as Record<string, unknown> })));
}

/** Just enough JSON Schema to catch drift: closed objects, required keys and string patterns. No validator dependency. */
function structuralProblems(node: JsonSchemaObject, value: unknown, at: string): string[] {
  if (node.anyOf) {
    const fits = node.anyOf.map((option) => structuralProblems(option, value, at));
    return fits.some((problems) => problems.length === 0) ? [] : [`${at}: fits no branch of anyOf`];
  }
  if (node.type === 'string') {
    if (typeof value !== 'string') return [`${at}: expected a string`];
    return node.pattern && !new RegExp(node.pattern).test(value) ? [`${at}: "${value}" does not match ${node.pattern}`] : [];
  }
  if (node.type === 'array') {
    if (!Array.isArray(value)) return [`${at}: expected an array`];
    return value.flatMap((item, index) => (node.items ? structuralProblems(node.items, item, `${at}[${index}]`) : []));
  }
  if (node.type === 'object' && node.properties) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected an object`];
    const record = value as Record<string, unknown>;
    const problems = (node.required ?? []).filter((key) => !(key in record)).map((key) => `${at}.${key}: required`);
    for (const [key, item] of Object.entries(record)) {
      const child = node.properties[key];
      if (child) problems.push(...structuralProblems(child, item, `${at}.${key}`));
      else if (node.additionalProperties === false) problems.push(`${at}.${key}: not allowed`);
    }
    return problems;
  }
  return [];
}

describe('journeyJsonSchema', () => {
  it('is a closed JSON Schema object with name and steps', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'steps']));
    expect(schema.properties?.steps).toMatchObject({ type: 'array', minItems: 1 });
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual([
      '$schema',
      'description',
      'finally',
      'finallyTimeout',
      'name',
      'retries',
      'schedule',
      'steps',
      'tags',
      'timeout',
      'trace',
      'vars',
    ]);
  });

  it('is plain JSON (it survives a JSON round trip unchanged)', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('has one closed branch per step kind, requiring its action key', () => {
    expect(stepBranches).toHaveLength(stepKinds.length);
    for (const kind of stepKinds) {
      const branch = stepBranches.find((candidate) => candidate.required?.includes(kind));
      expect(branch, kind).toBeDefined();
      expect(branch?.required).toEqual([kind]);
      expect(branch?.additionalProperties).toBe(false);
      expect(branch?.properties).toHaveProperty(kind);
      expect(branch?.properties).toHaveProperty('name');
      expect(branch?.properties).toHaveProperty('timeout');
    }
  });

  it('contains every step kind of the language', () => {
    const kinds = stepBranches.flatMap((branch) => branch.required ?? []).sort();
    expect(kinds).toEqual([...stepKinds].sort());
    expect(kinds).toEqual(
      expect.arrayContaining(['http', 'ws.connect', 'ws.ghost', 'browser.open', 'browser.fill', 'browser.expectTitle', 'wait', 'assert', 'set']),
    );
  });

  it('offers expect and capture only on steps that take them', () => {
    for (const branch of stepBranches) {
      const kind = branch.required?.[0] as keyof typeof stepSpecs;
      expect(Object.hasOwn(branch.properties ?? {}, 'expect'), kind).toBe(stepSpecs[kind].expect !== null);
      expect(Object.hasOwn(branch.properties ?? {}, 'capture'), kind).toBe(stepSpecs[kind].capture);
    }
  });

  it('describes durations as strings with a unit', () => {
    expect(schema.properties?.timeout).toMatchObject({ type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' });
  });

  it('accepts the example journeys in journeys/*.yaml', async () => {
    const examples = await exampleJourneys();
    expect(examples.length).toBeGreaterThan(0);
    for (const { file, value } of examples) expect(structuralProblems(schema, value, file)).toEqual([]);
  });

  it('rejects the mistakes the loader rejects (a check of the check above)', () => {
    expect(structuralProblems(schema, { name: 'x', step: [] }, 'j')).toEqual(['j.steps: required', 'j.step: not allowed']);
    expect(structuralProblems(schema, { name: 'x', steps: [{ htp: { url: 'x' } }] }, 'j')).toEqual(['j.steps[0]: fits no branch of anyOf']);
    expect(structuralProblems(schema, { name: 'x', timeout: '5', steps: [{ wait: '1s' }] }, 'j')).toEqual([expect.stringContaining('j.timeout')]);
  });
});

describe('zod schemas', () => {
  it('lists the step kinds in the order of stepSpecs, and the envelope keys', () => {
    expect(stepKinds).toEqual(Object.keys(stepSpecs));
    expect([...envelopeKeys]).toEqual(['name', 'timeout', 'expect', 'capture', 'until']);
  });

  it('duration takes strings with units and explains bare numbers', () => {
    expect(duration.safeParse('2s').success).toBe(true);
    const messageOf = (input: unknown) => duration.safeParse(input).error?.issues[0]?.message;
    expect(messageOf(5)).toBe('duration 5 has no unit; write it as "5ms" or "5s"');
    expect(messageOf(0)).toContain('zero');
    expect(messageOf(-1)).toContain('negative');
    expect(messageOf('5')).toContain('has no unit');
    expect(messageOf('0s')).toContain('is zero');
    expect(messageOf('-1s')).toContain('negative');
    expect(messageOf(true)).toBe('expected a duration such as "500ms", "2s" or "1m"');
  });

  it('an http step takes only one of json, body or form', () => {
    const result = stepEnvelopeSchema('http').safeParse({ http: { url: 'http://x', json: {}, form: { a: 'b' } } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['http', 'form'], message: 'use only one of json, body or form (found json and form)' });
  });

  it('envelopes are strict: expect is refused where it does not apply', () => {
    expect(stepEnvelopeSchema('http').safeParse({ http: { url: 'u' }, expect: { status: 200 }, capture: { id: 'json.id' } }).success).toBe(true);
    expect(stepEnvelopeSchema('ws.send').safeParse({ 'ws.send': { as: 'a', text: 'x' }, expect: { status: 200 } }).error?.issues[0]).toMatchObject({
      code: 'unrecognized_keys',
      keys: ['expect'],
    });
  });

  it('http expect takes a status code, a class, or a list', () => {
    for (const status of [200, '2xx', [200, 204, '3xx']]) expect(httpExpect.safeParse({ status }).success, JSON.stringify(status)).toBe(true);
    for (const status of [99, 600, '2XX', 'ok', []]) expect(httpExpect.safeParse({ status }).success, JSON.stringify(status)).toBe(false);
  });

  it('the journey header bounds retries and names vars and tags', () => {
    const base = { name: 'n', steps: [{}] };
    expect(journeyHeader.safeParse({ ...base, retries: 3 }).success).toBe(true);
    expect(journeyHeader.safeParse({ ...base, retries: 11 }).success).toBe(false);
    expect(journeyHeader.safeParse({ ...base, retries: 1.5 }).success).toBe(false);
    expect(journeyHeader.safeParse({ ...base, vars: { 'not-an-identifier': 1 } }).success).toBe(false);
    expect(journeyHeader.safeParse({ ...base, tags: ['has space'] }).success).toBe(false);
    expect(journeyHeader.safeParse({ ...base, steps: [] }).error?.issues[0]?.message).toBe('a journey needs at least one step');
    expect(journeyHeader.safeParse({ ...base, name: '' }).error?.issues[0]?.message).toBe('a journey needs a name');
  });
});
