import { journeyJsonSchema } from '../journey/schema.js';
import { EXIT } from '../engine/exit-codes.js';

export function schemaDocument(): Record<string, unknown> {
  return { title: 'Ceiling journey', ...(journeyJsonSchema() as object) };
}

export async function schemaCommand(): Promise<number> {
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(schemaDocument(), null, 2)}\n`, () => resolve()));
  return EXIT.passed;
}
