import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { schemaDocument } from '../../src/cli/schema-command.js';

describe('journeys/ceiling.schema.json', () => {
  it('is what `ceiling schema` prints today (regenerate it with: node dist/cli/main.js schema > journeys/ceiling.schema.json)', async () => {
    const committed = JSON.parse(await readFile('journeys/ceiling.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(schemaDocument());
  });
});
