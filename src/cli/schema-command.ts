import { journeyJsonSchema } from '../journey/schema.js';
import { EXIT } from '../engine/exit-codes.js';

export async function schemaCommand(): Promise<number> {
  const schema = { title: 'Ceiling journey', ...(journeyJsonSchema() as object) };
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`, () => resolve()));
  return EXIT.passed;
}
