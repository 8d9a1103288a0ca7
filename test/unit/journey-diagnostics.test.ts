import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDiagnostic, formatField, hasErrors, type Diagnostic } from '../../src/journey/diagnostics.js';
import { didYouMean } from '../../src/journey/did-you-mean.js';
import { findJourneyFiles, loadJourneys } from '../../src/journey/load.js';

const base: Diagnostic = {
  severity: 'error',
  code: 'CEIL_SCHEMA_INVALID',
  file: 'journeys/x.yaml',
  line: 12,
  column: 5,
  field: 'steps[2].http.url',
  message: 'reason',
};

describe('formatDiagnostic', () => {
  it('prints file:line:col › field: message', () => {
    expect(formatDiagnostic(base)).toBe('journeys/x.yaml:12:5 › steps[2].http.url: reason');
  });

  it('leaves the field out when the problem is the whole file', () => {
    expect(formatDiagnostic({ ...base, field: '' })).toBe('journeys/x.yaml:12:5: reason');
  });

  it('marks warnings', () => {
    expect(formatDiagnostic({ ...base, severity: 'warning' })).toBe('journeys/x.yaml:12:5 › steps[2].http.url: warning: reason');
  });
});

describe('formatField', () => {
  it('joins names with dots and indexes with brackets', () => {
    expect(formatField(['steps', 2, 'http', 'url'])).toBe('steps[2].http.url');
    expect(formatField(['steps', 0, 'ws.expect', 'json', '$type'])).toBe('steps[0].ws.expect.json.$type');
    expect(formatField([])).toBe('');
    expect(formatField([0, 'a'])).toBe('[0].a');
  });
});

describe('hasErrors', () => {
  it('is true only when an error is present', () => {
    expect(hasErrors([])).toBe(false);
    expect(hasErrors([{ ...base, severity: 'warning' }])).toBe(false);
    expect(hasErrors([{ ...base, severity: 'warning' }, base])).toBe(true);
  });
});

describe('didYouMean', () => {
  it('suggests a close name and nothing for a distant one', () => {
    expect(didYouMean('htp', ['http', 'wait'])).toBe('; did you mean "http"?');
    expect(didYouMean('ulr', ['url', 'method'])).toBe('; did you mean "url"?');
    expect(didYouMean('$typ', ['$type', '$len'])).toBe('; did you mean "$type"?');
    expect(didYouMean('zzzzzz', ['http', 'wait'])).toBe('');
    expect(didYouMean('x', [])).toBe('');
  });
});

describe('loading files', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ceiling-journeys-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const journey = (name: string) => `name: ${name}\nsteps:\n  - assert: { value: 1, equals: 1 }\n`;

  it('finds .yaml and .yml files in folders, sorted, skipping dot folders and other files', async () => {
    await mkdir(path.join(dir, 'nested'));
    await mkdir(path.join(dir, '.hidden'));
    await writeFile(path.join(dir, 'b.yaml'), journey('b'));
    await writeFile(path.join(dir, 'a.yml'), journey('a'));
    await writeFile(path.join(dir, 'notes.txt'), 'not a journey');
    await writeFile(path.join(dir, 'nested', 'c.yaml'), journey('c'));
    await writeFile(path.join(dir, '.hidden', 'd.yaml'), journey('d'));
    const found = await findJourneyFiles([dir]);
    expect(found.diagnostics).toEqual([]);
    expect(found.files.map((file) => path.relative(dir, file))).toEqual(['a.yml', 'b.yaml', path.join('nested', 'c.yaml')]);
  });

  it('reports a path that does not exist', async () => {
    const missing = path.join(dir, 'nope.yaml');
    const found = await findJourneyFiles([missing]);
    expect(found.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'CEIL_PATH_NOT_FOUND',
        file: missing,
        line: 1,
        column: 1,
        field: '',
        message: 'no such file or folder; pass journey files (.yaml) or folders that hold them',
      },
    ]);
  });

  it('collects diagnostics from every file, and loads the valid ones', async () => {
    await writeFile(path.join(dir, 'good.yaml'), journey('good'));
    await writeFile(path.join(dir, 'bad.yaml'), 'name: bad\nsteps:\n  - htp: { url: x }\n');
    const loaded = await loadJourneys([dir]);
    expect(loaded.journeys.map((j) => j.name)).toEqual(['good']);
    expect(loaded.files.map((file) => path.basename(file))).toEqual(['bad.yaml', 'good.yaml']);
    expect(loaded.diagnostics.map(formatDiagnostic)).toEqual([`${path.join(dir, 'bad.yaml')}:3:5 › steps[0].htp: unknown step "htp"; did you mean "http"?`]);
  });

  it('reports a journey name used twice, at the second file', async () => {
    await writeFile(path.join(dir, 'a.yaml'), journey('same'));
    await writeFile(path.join(dir, 'b.yaml'), `# a comment first\n${journey('same')}`);
    const loaded = await loadJourneys([dir]);
    expect(loaded.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'CEIL_JOURNEY_DUPLICATE_NAME',
        file: path.join(dir, 'b.yaml'),
        line: 2,
        column: 1,
        field: 'name',
        message: `journey name "same" is already used by ${path.join(dir, 'a.yaml')}; names must be unique`,
      },
    ]);
  });

  it('passes extraVars through to every file', async () => {
    await writeFile(path.join(dir, 'v.yaml'), 'name: v\nsteps:\n  - http: { url: "{{ vars.base }}/" }\n    expect: { status: 200 }\n');
    expect((await loadJourneys([dir])).diagnostics.map((d) => d.code)).toEqual(['CEIL_TEMPLATE']);
    expect((await loadJourneys([dir], { extraVars: ['base'] })).diagnostics).toEqual([]);
  });
});
