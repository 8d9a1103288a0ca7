import { journeyJsonSchema } from '../journey/schema.js';
import { EXIT } from '../core/exit-codes.js';

export function schemaDocument(): Record<string, unknown> {
  return { title: 'Ceiling journey', ...(journeyJsonSchema() as object) };
}

/** `ceiling schema` prints the journey schema; `ceiling schema config` the one for ceiling.yaml. */
export async function schemaCommand(which: string = 'journey'): Promise<number> {
  let document: unknown;
  if (which === 'journey') document = schemaDocument();
  else if (which === 'config') document = (await import('../gate/config.js')).projectConfigJsonSchema();
  else {
    process.stderr.write(`ceiling schema: unknown schema "${which}"; use journey (the default) or config\n`);
    return EXIT.invalid;
  }
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(document, null, 2)}\n`, () => resolve()));
  return EXIT.passed;
}
