import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepFailure } from '../../src/core/failure.js';
import { render } from '../../src/journey/template.js';
import { MIN_SECRET_LENGTH, Redactor } from '../../src/secrets/redactor.js';
import { readDotenvFile, secretLookup } from '../../src/secrets/sources.js';

const SECRET = 'p@ss w/rd+"\\!~(x)';

function redactorWith(value: string, label = 'DB_PASSWORD'): Redactor {
  const redactor = new Redactor();
  expect(redactor.add(value, label)).toBe(true);
  return redactor;
}

describe('Redactor.redact', () => {
  it('replaces the value with a label everywhere it occurs', () => {
    const redactor = redactorWith('hunter2hunter2');
    expect(redactor.redact('a hunter2hunter2 b hunter2hunter2')).toBe('a [REDACTED:DB_PASSWORD] b [REDACTED:DB_PASSWORD]');
  });

  it('leaves text alone when nothing is registered or nothing matches', () => {
    expect(new Redactor().redact('hunter2hunter2')).toBe('hunter2hunter2');
    expect(redactorWith('hunter2hunter2').redact('nothing here')).toBe('nothing here');
  });

  it('treats regex metacharacters in secrets literally', () => {
    const redactor = redactorWith('a.b*c(d)$');
    expect(redactor.redact('x a.b*c(d)$ y aXbbbc(d)$')).toBe('x [REDACTED:DB_PASSWORD] y aXbbbc(d)$');
  });

  it.each([
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64 without padding', Buffer.from(SECRET).toString('base64').replace(/=+$/, '')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['form-encoded with +', encodeURIComponent(SECRET).replace(/%20/g, '+')],
    ['URLSearchParams-encoded', new URLSearchParams({ q: SECRET }).toString().slice(2)],
    ['encodeURI-encoded', encodeURI(SECRET)],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
  ])('redacts the %s form', (_name, form) => {
    expect(form).not.toBe(SECRET);
    const redactor = redactorWith(SECRET);
    expect(redactor.redact(`before ${form} after`)).toBe('before [REDACTED:DB_PASSWORD] after');
  });

  it('redacts a secret sent in a query string or form body built by URLSearchParams', () => {
    const redactor = redactorWith(SECRET, 'TOKEN');
    const url = new URL('http://127.0.0.1:1/path');
    url.searchParams.append('token', SECRET);
    expect(redactor.redact(url.toString())).toBe('http://127.0.0.1:1/path?token=[REDACTED:TOKEN]');
    const form = new URLSearchParams({ password: SECRET }).toString();
    expect(redactor.redact(form)).toBe('password=[REDACTED:TOKEN]');
  });

  it('redacts a secret inside a JSON body serialised as text', () => {
    const redactor = redactorWith(SECRET);
    const body = JSON.stringify({ password: SECRET });
    expect(redactor.redact(body)).toBe('{"password":"[REDACTED:DB_PASSWORD]"}');
    expect(redactor.redact(body)).not.toContain('w/rd');
  });

  it('replaces the longest form first, so a longer secret is not half-replaced by a shorter one inside it', () => {
    const redactor = new Redactor();
    redactor.add('abcd', 'SHORT');
    redactor.add('xxabcdxx', 'LONG');
    expect(redactor.redact('xxabcdxx abcd')).toBe('[REDACTED:LONG] [REDACTED:SHORT]');
  });

  it('refuses secrets too short to redact safely', () => {
    const redactor = new Redactor();
    expect(redactor.add('a'.repeat(MIN_SECRET_LENGTH - 1))).toBe(false);
    expect(redactor.add('')).toBe(false);
    expect(redactor.size).toBe(0);
    expect(redactor.redact('aaa')).toBe('aaa');
  });

  it('labels a value with "secret" by default', () => {
    const redactor = new Redactor();
    redactor.add('topsecret');
    expect(redactor.redact('topsecret')).toBe('[REDACTED:secret]');
  });

  it('recompiles when a secret is added after a redaction', () => {
    const redactor = redactorWith('first-secret', 'A');
    expect(redactor.redact('first-secret second-secret')).toBe('[REDACTED:A] second-secret');
    redactor.add('second-secret', 'B');
    expect(redactor.redact('first-secret second-secret')).toBe('[REDACTED:A] [REDACTED:B]');
  });
});

describe('Redactor.redactDeep', () => {
  it('redacts every string, keys included, and keeps other values', () => {
    const redactor = redactorWith('hunter2hunter2', 'PW');
    const input = {
      url: 'http://x/?p=hunter2hunter2',
      nested: [{ hunter2hunter2: 1, n: 5, ok: true, none: null }],
      encoded: Buffer.from('hunter2hunter2').toString('base64'),
    };
    expect(redactor.redactDeep(input)).toEqual({
      url: 'http://x/?p=[REDACTED:PW]',
      nested: [{ '[REDACTED:PW]': 1, n: 5, ok: true, none: null }],
      encoded: '[REDACTED:PW]',
    });
  });

  it('returns a copy and leaves the original untouched', () => {
    const redactor = redactorWith('hunter2hunter2');
    const input = { a: 'hunter2hunter2' };
    const output = redactor.redactDeep(input);
    expect(output).not.toBe(input);
    expect(input.a).toBe('hunter2hunter2');
  });
});

describe('Basic auth from basicAuth() is redacted through template taint', () => {
  it('registers the header a template derives from a secret, and its bare token', () => {
    const redactor = new Redactor();
    const secrets: Record<string, string> = { API_PASSWORD: 'correct horse' };
    const scope = {
      vars: { user: 'ann' },
      env: () => undefined,
      secret: (name: string) => {
        const value = secrets[name];
        if (value !== undefined) redactor.add(value, name);
        return value;
      },
      onSecretDerived: (value: string, secretName: string) => redactor.add(value, secretName),
    };
    const header = render('{{ basicAuth(vars.user, secrets.API_PASSWORD) }}', scope) as string;
    const token = Buffer.from('ann:correct horse').toString('base64');
    expect(header).toBe(`Basic ${token}`);
    // Labelled by the secret it came from, as the secret itself is: one secret reads the same everywhere.
    expect(redactor.redact(`authorization: ${header}`)).toBe('authorization: [REDACTED:API_PASSWORD]');
    // The token alone (e.g. echoed by a server) is not the base64 of the password, yet it must not leak.
    expect(redactor.redact(`echo ${token}`)).toBe('echo [REDACTED:API_PASSWORD]');
    expect(redactor.redact('pw=correct horse')).toBe('pw=[REDACTED:API_PASSWORD]');
  });

  it("labels a value built from a known secret, added without a label, with that secret's label", () => {
    const redactor = redactorWith('tok-123456', 'ACC_CANARY');
    redactor.add('Bearer tok-123456-suffix');
    expect(redactor.redact('sent Bearer tok-123456-suffix, then tok-123456')).toBe('sent [REDACTED:ACC_CANARY], then [REDACTED:ACC_CANARY]');
  });

  it('registers the bare token of an Authorization value added directly', () => {
    const redactor = redactorWith('Basic dXNlcjpzZWNyZXQ=', 'authorization');
    expect(redactor.redact('token dXNlcjpzZWNyZXQ= seen')).toBe('token [REDACTED:authorization] seen');
  });
});

describe('secretLookup', () => {
  const env = (values: Record<string, string>) => (name: string) => (Object.hasOwn(values, name) ? values[name] : undefined);

  it('prefers the secrets file over the environment, and registers what it hands out', () => {
    const redactor = new Redactor();
    const lookup = secretLookup({ TOKEN: 'from-file-token' }, env({ TOKEN: 'from-env-token', OTHER: 'from-env-other' }), redactor);
    expect(lookup('TOKEN')).toBe('from-file-token');
    expect(lookup('OTHER')).toBe('from-env-other');
    expect(redactor.redact('from-env-other')).toBe('[REDACTED:OTHER]');
  });

  it('registers every secret in the file up front, even ones never used', () => {
    const redactor = new Redactor();
    secretLookup({ UNUSED: 'never-looked-up' }, env({}), redactor);
    expect(redactor.redact('never-looked-up')).toBe('[REDACTED:UNUSED]');
  });

  it('returns undefined for an unknown secret', () => {
    expect(secretLookup({}, env({}), new Redactor())('NOPE')).toBeUndefined();
  });

  it('refuses a secret too short to redact, as a config failure', () => {
    const lookup = secretLookup({}, env({ PIN: '123' }), new Redactor());
    let failure: unknown;
    try {
      lookup('PIN');
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StepFailure);
    expect(failure).toMatchObject({ failureClass: 'config', code: 'CEIL_SECRET_TOO_SHORT' });
  });

  it('does not hand out inherited properties of process.env as secrets', () => {
    const lookup = secretLookup({}, (name) => (process.env as Record<string, string | undefined>)[name], new Redactor());
    expect(lookup('toString')).toBeUndefined();
    expect(lookup('constructor')).toBeUndefined();
  });
});

describe('readDotenvFile', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ceiling-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads KEY=value lines, with quotes and comments', async () => {
    const file = path.join(dir, 'secrets.env');
    await writeFile(file, '# a comment\nTOKEN=abc123xyz\nQUOTED="with spaces"\n');
    expect(await readDotenvFile(file)).toEqual({ TOKEN: 'abc123xyz', QUOTED: 'with spaces' });
  });
});

describe('Redactor.fork', () => {
  it('starts with every secret known so far and keeps what it learns to itself', () => {
    const shared = redactorWith('base-secret-value');
    const run = shared.fork();
    run.add('derived-per-run-value');
    expect(run.redact('base-secret-value derived-per-run-value')).toBe('[REDACTED:DB_PASSWORD] [REDACTED:secret]');
    expect(shared.redact('derived-per-run-value')).toBe('derived-per-run-value');
    expect(shared.size).toBeLessThan(run.size);
  });
});

describe('redacting JSON text', () => {
  it.each(['pa"ss-word', 'back\\slash-pw', 'both\\"of-them', 'ends-in-quote"', 'ends-in-backslash\\'])(
    'keeps JSON parseable and the secret out when it holds %s',
    (secret) => {
      const redactor = redactorWith(secret, 'ACC_CANARY');
      const text = JSON.stringify({ message: `got ${secret} back`, value: secret, nested: [`${secret}${secret}`] });
      const redacted = redactor.redact(text);
      expect(() => JSON.parse(redacted) as unknown).not.toThrow();
      expect(redacted).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(redacted).toContain('[REDACTED:ACC_CANARY]');
    },
  );
});
