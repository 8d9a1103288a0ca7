import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT } from '../core/exit-codes.js';
import { exampleJourneyText, projectConfigText, workflowText, type InitOptions } from './init-files.js';
import { schemaDocument } from './schema-command.js';

export interface InitFlags {
  url?: string;
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

function checkUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `--url: "${text}" is not an absolute URL; write it as https://your-service.example`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--url: "${text}" uses ${url.protocol}; the example journey speaks http or https`;
  return undefined;
}

/**
 * Writes a starting project into `dir`. Nothing that exists is ever
 * overwritten: if any file is already there, none is written and the
 * command lists them and exits 2.
 */
export async function initCommand(dir: string, flags: InitFlags): Promise<number> {
  if (flags.url !== undefined) {
    const problem = checkUrl(flags.url);
    if (problem) {
      process.stderr.write(`${problem}\n`);
      return EXIT.invalid;
    }
  }
  const options: InitOptions = flags.url !== undefined ? { url: flags.url.replace(/\/+$/, '') } : {};
  const files: [string, string][] = [
    ['ceiling.yaml', projectConfigText(options)],
    ['journeys/home-page.yaml', exampleJourneyText(options)],
    ['journeys/ceiling.schema.json', `${JSON.stringify(schemaDocument(), null, 2)}\n`],
    ['.github/workflows/ceiling.yml', workflowText()],
  ];
  const present: string[] = [];
  for (const [name] of files) if (await exists(path.join(dir, name))) present.push(name);
  if (present.length > 0) {
    process.stderr.write(
      `ceiling init: nothing was written; these already exist:\n${present.map((name) => `  ${path.join(dir, name)}`).join('\n')}\nmove them aside, or run ceiling init in another folder\n`,
    );
    return EXIT.invalid;
  }
  for (const [name, text] of files) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    // wx: a file that appeared since the check above is still not overwritten.
    await writeFile(file, text, { flag: 'wx' });
    process.stdout.write(`  wrote ${file}\n`);
  }
  const runLine = options.url ? 'npx ceiling run --target production' : 'BASE_URL=https://your-service.example npx ceiling run';
  process.stdout.write(
    [
      '',
      'next:',
      '  npx ceiling validate                 # check the journeys, run nothing',
      `  ${runLine.padEnd(36)} # run them`,
      '  git add ceiling.yaml journeys .github && git commit -m "Ceiling journeys"   # and the workflow runs them',
      '',
    ].join('\n'),
  );
  return EXIT.passed;
}
