/**
 * The closed set of reporters the CLI can name, and the parsing of its
 * `--reporter` values:
 *
 *   console        the terminal (live on a TTY, plain lines otherwise)
 *   json           <outDir>/results.json
 *   json=PATH      PATH; `json=-` writes to stdout
 *   junit          <outDir>/junit.xml
 *   junit=PATH     PATH; `junit=-` writes to stdout
 *   github         GitHub Actions: annotations on stdout, a step summary in GITHUB_STEP_SUMMARY
 *   html           <outDir>/report.html, one self-contained page (`ceiling show-report` opens it)
 *   html=PATH      PATH; `html=-` writes to stdout
 *
 * An unknown name is a configuration error, never a fallback to a default:
 * a CI job that silently lost its JUnit file would look green.
 */
import path from 'node:path';
import type { CodeSubset } from '../core/failure-codes.js';
import { didYouMean } from '../journey/did-you-mean.js';
import type { OutputStream, OutputTarget } from './output.js';
import type { Reporter } from './reporter.js';

export type { Reporter } from './reporter.js';
export { ReporterMultiplexer, type ReporterFault } from './multiplexer.js';

export const reporterNames = ['console', 'json', 'junit', 'github', 'html'] as const;
export type ReporterName = (typeof reporterNames)[number];

export interface ReporterFactoryOptions {
  outDir: string;
  stdout: OutputStream;
  stderr: OutputStream;
  isTTY: boolean;
  color: boolean;
  /** The console prints only what did not pass, and the summary. */
  quiet?: boolean;
  /** Where the github reporter writes its summary and what its annotation paths are relative to. */
  github?: { summaryFile?: string; workspace: string };
}

export interface ReporterSpec {
  name: ReporterName;
  /** As written after `=`; absent means the reporter's default place. */
  path?: string;
}

/** Async so a reporter's libraries load only when it is asked for: JUnit's XML builder is most of the CLI's code. */
export type ReporterFactory = (options: ReporterFactoryOptions, path?: string) => Promise<Reporter>;

export const STDOUT_PATH = '-';

export const defaultOutputFiles = {
  json: 'results.json',
  junit: 'junit.xml',
  html: 'report.html',
} as const;

function fileTarget(options: ReporterFactoryOptions, requested: string | undefined, defaultFile: string): OutputTarget {
  if (requested === STDOUT_PATH) return { stdout: options.stdout };
  return { path: requested ?? path.join(options.outDir, defaultFile), stdout: options.stdout };
}

export const reporterFactories = {
  console: async (options) => {
    const { ConsoleReporter } = await import('./console.js');
    return new ConsoleReporter({ stream: options.stdout, color: options.color, live: options.isTTY, quiet: options.quiet === true });
  },
  json: async (options, requested) => {
    const { JsonReporter } = await import('./json.js');
    return new JsonReporter(fileTarget(options, requested, defaultOutputFiles.json));
  },
  junit: async (options, requested) => {
    const { JunitReporter } = await import('./junit.js');
    return new JunitReporter(fileTarget(options, requested, defaultOutputFiles.junit));
  },
  github: async (options) => {
    const { GithubReporter } = await import('./github.js');
    return new GithubReporter(options.stdout, options.github ?? { workspace: process.cwd() });
  },
  html: async (options, requested) => {
    const { HtmlReporter } = await import('./html.js');
    return new HtmlReporter(fileTarget(options, requested, defaultOutputFiles.html), { baseDir: process.cwd() });
  },
} satisfies Record<ReporterName, ReporterFactory>;

// Exactly the reporters that write a file take a path.
const takesPath = (name: ReporterName): boolean => name in defaultOutputFiles;

export type ReporterSpecErrorCode = CodeSubset<'CEIL_REPORTER_UNKNOWN' | 'CEIL_REPORTER_PATH'>;

export class ReporterSpecError extends Error {
  readonly code: ReporterSpecErrorCode;

  constructor(code: ReporterSpecErrorCode, message: string) {
    super(message);
    this.name = 'ReporterSpecError';
    this.code = code;
  }
}

const isReporterName = (name: string): name is ReporterName => (reporterNames as readonly string[]).includes(name);

export function parseReporterSpec(spec: string): ReporterSpec {
  const text = spec.trim();
  const separator = text.indexOf('=');
  const name = separator === -1 ? text : text.slice(0, separator).trim();
  if (!isReporterName(name)) {
    const shown = name === '' ? 'empty reporter name' : `unknown reporter "${name}"`;
    const suggestion = name === '' ? '' : didYouMean(name, reporterNames);
    throw new ReporterSpecError('CEIL_REPORTER_UNKNOWN', `${shown} (valid reporters: ${reporterNames.join(', ')})${suggestion}`);
  }
  if (separator === -1) return { name };

  const requested = text.slice(separator + 1).trim();
  if (!takesPath(name)) {
    throw new ReporterSpecError('CEIL_REPORTER_PATH', `reporter "${name}" writes to the terminal and takes no path; write "${name}" alone`);
  }
  if (requested === '') {
    throw new ReporterSpecError(
      'CEIL_REPORTER_PATH',
      `"${text}" has no path after "="; write "${name}=PATH", "${name}=-" for stdout, or "${name}" alone for the default file`,
    );
  }
  return { name, path: requested };
}

export function createReporter(spec: ReporterSpec, options: ReporterFactoryOptions): Promise<Reporter> {
  const factory: ReporterFactory = reporterFactories[spec.name];
  return factory(options, spec.path);
}
