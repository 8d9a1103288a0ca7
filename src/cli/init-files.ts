/**
 * What `ceiling init` writes: a project config, one example journey, the
 * journey schema for editors, and a GitHub workflow that runs the journeys
 * with the Ceiling action. Pure text, so a test can check each file.
 */

/** The action's repository on GitHub, as workflows name it in `uses:`; README and docs use the same. */
export const ACTION_REF = 'ceiling-probe/ceiling@v0.1.0';

/** The var the example journey and the config's target share. */
const BASE_URL_VAR = 'baseUrl';
const BASE_URL_ENV = 'BASE_URL';
const PLACEHOLDER_URL = 'https://example.com';

export interface InitOptions {
  /** The service to check; without it the journey reads BASE_URL and falls back to a placeholder. */
  url?: string;
}

/** A YAML double-quoted scalar: JSON's string syntax is a subset of it. */
const yamlString = (text: string): string => JSON.stringify(text);

export function projectConfigText(options: InitOptions): string {
  const target = options.url
    ? `  production:\n    vars:\n      ${BASE_URL_VAR}: ${yamlString(options.url)}\n`
    : `  # Set the address here, or export ${BASE_URL_ENV} (journeys/home-page.yaml reads it).\n  production: {}\n  # production:\n  #   vars:\n  #     ${BASE_URL_VAR}: "https://your-service.example"\n`;
  return [
    '# yaml-language-server: $schema=node_modules/ceiling-probe/docs/ceiling.config.schema.json',
    '# The Ceiling project config: what `ceiling run` and `ceiling gate` read.',
    '# Every key is described in the README of ceiling-probe (Project config).',
    'journeys: [journeys]',
    '',
    "# The deployments to check. A target's vars win over the journeys' own.",
    'targets:',
    target.trimEnd(),
    '',
    'defaults:',
    '  timeout: 30s',
    '  retries: 1',
    '',
    '# console, json, junit (paths are relative to this file), and github.',
    'reporters: [console, junit=ceiling-out/junit.xml]',
    '',
  ].join('\n');
}

export function exampleJourneyText(options: InitOptions): string {
  const fallback = options.url ?? PLACEHOLDER_URL;
  return [
    '# yaml-language-server: $schema=./ceiling.schema.json',
    'name: the home page answers',
    'description: >',
    '  A first journey: the home page answers 200 with HTML. Replace it with what',
    '  your users come for: sign in, post, pay, get the message.',
    'tags: [smoke]',
    'timeout: 15s',
    'vars:',
    `  ${BASE_URL_VAR}: "{{ env.${BASE_URL_ENV} ?? '${fallback.replace(/'/g, "''")}' }}"`,
    'steps:',
    '  - name: open the home page',
    `    http: { url: "{{ vars.${BASE_URL_VAR} }}/" }`,
    '    expect:',
    '      status: 200',
    '      headers: { content-type: { $regex: "html" } }',
    '',
  ].join('\n');
}

export function workflowText(): string {
  return [
    '# Runs the journeys on every push to main and every 30 minutes.',
    'name: ceiling',
    '',
    'on:',
    '  push:',
    '    branches: [main]',
    '  schedule:',
    "    - cron: '*/30 * * * *'",
    '  workflow_dispatch:',
    '',
    'permissions:',
    '  contents: read',
    '',
    'jobs:',
    '  journeys:',
    '    runs-on: ubuntu-latest',
    '    timeout-minutes: 15',
    '    steps:',
    '      - uses: actions/checkout@v4',
    `      - uses: ${ACTION_REF}`,
    '        with:',
    '          command: run',
    '          reporter: junit',
    '      - uses: actions/upload-artifact@v4',
    '        if: always()',
    '        with:',
    '          name: ceiling-out',
    '          path: ceiling-out/',
    '',
  ].join('\n');
}
