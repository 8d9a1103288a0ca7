import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectEvidence } from '../../src/engine/journey-runner.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { CountingResources, Session, TestSite, compile, failureOf, html, type Route } from './browser-harness.js';
import { screenshotDir } from '../../src/steps/browser/steps.js';

const loginPage = html(`<!doctype html><title>Sign in</title>
<form method="post" action="/login"><label>Name <input name="name"></label><button>Sign in</button></form>`);

const formPage = html(`<!doctype html><title>Form</title>
<label for="size">Size</label>
<select id="size"><option value="s">Small</option><option value="m">Medium</option><option value="l">Large</option></select>
<label><input type="checkbox" id="agree"> I agree</label>
<input id="search" placeholder="Search">
<button data-testid="save">Save</button>
<button id="publish">Publish</button>
<button>Twice</button><button>Twice</button>
<button disabled>Locked</button>
<p id="status" data-state="idle">Idle</p>
<p id="result"></p>
<div id="later" style="display:none">Appears later</div>
<a href="/login">Sign in elsewhere</a>
<script>
  const $ = (selector) => document.querySelector(selector);
  $('#search').addEventListener('keydown', (event) => { if (event.key === 'Enter') $('#result').textContent = 'Searched: ' + $('#search').value; });
  $('[data-testid=save]').addEventListener('click', () => {
    $('#status').textContent = 'Saving…';
    setTimeout(() => {
      $('#status').textContent = 'Saved!  size=' + $('#size').value + ' agree=' + $('#agree').checked;
      $('#status').dataset.state = 'done';
      $('#later').style.display = 'block';
      document.title = 'Saved';
      history.pushState({}, '', '/form/saved');
    }, 200);
  });
  $('#publish').addEventListener('click', () => { $('#publish').textContent = 'Publishing…'; });
</script>`);

/** Sessions by cookie, so two actors prove they are two users: each keeps its own cookie jar. */
const sessions = new Map<string, string>();
let nextSession = 0;
const routes: Record<string, Route> = {
  '/login': (request, response, body) => {
    if (request.method !== 'POST') return loginPage(request, response, body);
    const sid = `s${++nextSession}`;
    sessions.set(sid, new URLSearchParams(body).get('name') ?? '');
    response.writeHead(303, { location: '/home', 'set-cookie': `sid=${sid}; Path=/; HttpOnly` }).end();
  },
  '/home': (request, response, body) => {
    const sid = /sid=(\w+)/.exec(request.headers.cookie ?? '')?.[1];
    const name = sid === undefined ? undefined : sessions.get(sid);
    html(`<!doctype html><title>Home</title><h1>Hello ${name ?? 'stranger'}</h1>`)(request, response, body);
  },
  '/form': formPage,
  '/form/saved': formPage,
  '/broken': html('<!doctype html><title>Oops</title><h1>Internal error</h1>', 500),
  // The document arrives, but a stylesheet it needs never does, so "load" never fires.
  '/stuck-style': html('<!doctype html><title>Stuck</title><link rel="stylesheet" href="/never.css"><p>almost</p>'),
  '/never.css': () => undefined,
};

let site: TestSite;
let outDir: string;
const resources = new CountingResources();
let session: Session | undefined;

beforeAll(async () => {
  site = await TestSite.start(routes);
  outDir = await mkdtemp(path.join(os.tmpdir(), 'ceiling-browser-steps-'));
});

afterEach(async () => {
  await session?.close();
  session = undefined;
});

afterAll(async () => {
  await resources.closeAll();
  await site.stop();
  await rm(outDir, { recursive: true, force: true });
});

function newSession(vars: Record<string, unknown> = {}): Session {
  session = new Session({ resources, outDir, vars: { site: site.url, ...vars } });
  return session;
}

describe('browser steps against real Chromium', () => {
  it('gives each actor its own browser context: two users, two sessions', async () => {
    const s = newSession();
    await s.runAll(
      await compile(
        `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}" }
- browser.open: { as: bob, baseUrl: "{{ vars.site }}" }
- browser.goto: { as: alice, url: /login }
- browser.fill: { as: alice, target: { label: Name }, value: alice }
- browser.click: { as: alice, target: { role: button, name: Sign in } }
- browser.expectText: { as: alice, target: { role: heading }, text: Hello alice }
- browser.goto: { as: bob, url: /login }
- browser.fill: { as: bob, target: { label: Name }, value: bob }
- browser.click: { as: bob, target: { role: button, name: Sign in } }
- browser.expectText: { as: bob, target: { role: heading }, equals: Hello bob }
- browser.reload: { as: alice }
- browser.expectText: { as: alice, target: { role: heading }, equals: Hello alice }
- browser.expectTitle: { as: bob, equals: Home }
`,
        { site: site.url },
      ),
    );
    const cookies = new Set(site.requests.filter((request) => request.url === '/home').map((request) => request.cookie));
    expect(cookies.size).toBe(2);
    expect(resources.created.get('browser')).toBe(1);
  });

  it('fills, selects, checks, presses and clicks, then waits for the page to catch up', async () => {
    const s = newSession();
    const outcomes = await s.runAll(
      await compile(
        `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}", viewport: { width: 800, height: 600 }, locale: en-GB }
- browser.goto: { as: alice, url: /form, waitUntil: domcontentloaded }
- browser.select: { as: alice, target: { label: Size }, label: Medium }
- browser.check: { as: alice, target: { label: I agree } }
- browser.fill: { as: alice, target: { placeholder: Search }, value: kittens }
- browser.press: { as: alice, target: { placeholder: Search }, key: Enter }
- browser.expectText: { as: alice, target: { css: "#result" }, equals: "Searched: kittens" }
- browser.click: { as: alice, target: { testId: save } }
- browser.expectText: { as: alice, target: { css: "#status" }, regex: "^Saved! size=m agree=true$", within: 3s }
- name: capture from the page
  browser.expectText: { as: alice, target: { css: "#status" }, text: Saved }
  capture:
    status: text
    state: attribute.data-state
    where: url
    heading: title
    size: { regex: "size=(\\\\w)" }
- browser.expectVisible: { as: alice, target: { text: Appears later } }
- browser.expectHidden: { as: alice, target: { text: Never on this page } }
- browser.expectUrl: { as: alice, contains: /form/saved }
- browser.expectUrl: { as: alice, url: /form/saved }
- browser.expectUrl: { as: alice, regex: "/form/sav(ed)$" }
- browser.expectTitle: { as: alice, text: Sav }
- name: capture a field
  browser.waitFor: { as: alice, target: { placeholder: Search } }
  capture: { query: value }
- browser.waitFor: { as: alice, url: "**/form/*" }
- browser.check: { as: alice, target: { role: checkbox, name: I agree }, checked: false }
- browser.click: { as: alice, target: { role: link, name: Sign in elsewhere } }
- browser.waitFor: { as: alice, url: /login }
- browser.expectVisible: { as: alice, target: { role: button, name: Sign in, exact: true } }
- browser.press: { as: alice, key: Tab }
`,
        { site: site.url },
      ),
    );
    expect(s.vars).toMatchObject({
      status: 'Saved! size=m agree=true',
      state: 'done',
      where: `${site.url}/form/saved`,
      heading: 'Saved',
      size: 'm',
      query: 'kittens',
    });
    expect(outcomes.reduce((sum, outcome) => sum + outcome.assertions, 0)).toBe(10);
  });

  it('says what the text was and what was expected when it never matches', async () => {
    const s = newSession();
    const steps = await compile(
      `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}" }
- browser.goto: { as: alice, url: /form }
- browser.click: { as: alice, target: { css: "#publish" } }
- browser.expectText: { as: alice, target: { css: "#publish" }, text: Published!, within: 300ms }
- browser.expectText: { as: alice, target: { role: button, name: Publishing… }, equals: Published!, within: 300ms }
- browser.expectTitle: { as: alice, equals: Nope, within: 200ms }
- browser.expectUrl: { as: alice, contains: /elsewhere, within: 200ms }
`,
      { site: site.url },
    );
    await s.runAll(steps.slice(0, 3));
    const text = await failureOf(s.run(steps[3]));
    expect(text.failureClass).toBe('assertion');
    expect(text.code).toBe('CEIL_BROWSER_TEXT');
    expect(text.message).toMatch(/^text of css #publish is "Publishing…", expected to contain "Published!" \(waited /);
    expect(text.details).toMatchObject({ expected: 'Published!', actual: 'Publishing…' });
    expect((await failureOf(s.run(steps[4]))).message).toMatch(/^text of button "Publishing…" is "Publishing…", expected to be "Published!"/);
    const title = await failureOf(s.run(steps[5]));
    expect(title.message).toMatch(/^title is "Form", expected to be "Nope"/);
    const url = await failureOf(s.run(steps[6]));
    expect(url.message).toMatch(new RegExp(`^URL is ${site.url}/form, expected to contain "/elsewhere"`));
  });

  it('fails a missing element with a message that names the locator', async () => {
    const s = newSession();
    const steps = await compile(
      `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}" }
- browser.goto: { as: alice, url: /form }
- name: click what is not there
  browser.click: { as: alice, target: { label: Comment } }
  timeout: 1s
- browser.expectVisible: { as: alice, target: { role: button, name: Post }, within: 300ms }
- browser.expectText: { as: alice, target: { testId: missing, nth: 1 }, text: x, within: 300ms }
- browser.expectVisible: { as: alice, target: { css: "#later" }, within: 300ms }
- browser.expectHidden: { as: alice, target: { css: "#status" }, within: 300ms }
- browser.click: { as: alice, target: { role: button, name: Twice } }
- browser.goto: { as: alice, url: /broken }
- browser.fill: { as: alice, target: { label: Comment }, value: hi }
  timeout: 1s
- browser.click: { as: alice, target: { role: button, name: Locked } }
  timeout: 1s
- browser.fill: { as: alice, target: { css: "#status" }, value: hi }
  timeout: 1s
`,
      { site: site.url },
    );
    await s.runAll(steps.slice(0, 2));
    const click = await failureOf(s.run(steps[2]));
    expect(click.failureClass).toBe('assertion');
    expect(click.code).toBe('CEIL_BROWSER_NO_ELEMENT');
    expect(click.message).toMatch(/^no element matches label "Comment" within \d/);
    expect(click.details.actual).toBe(`no matching element on ${site.url}/form`);
    expect((await failureOf(s.run(steps[3]))).message).toMatch(/^no element matches button "Post" within \d+ms$/);
    expect((await failureOf(s.run(steps[4]))).message).toMatch(/^no element matches testId "missing" \(match 2\) within/);
    const hidden = await failureOf(s.run(steps[5]));
    expect([hidden.code, hidden.message]).toEqual(['CEIL_BROWSER_NOT_VISIBLE', expect.stringMatching(/^css #later is on the page but not visible after/)]);
    const visible = await failureOf(s.run(steps[6]));
    expect([visible.code, visible.message]).toEqual(['CEIL_BROWSER_STILL_VISIBLE', expect.stringMatching(/^css #status is still visible after/)]);
    const twice = await failureOf(s.run(steps[7]));
    expect([twice.failureClass, twice.code, twice.message]).toEqual([
      'assertion',
      'CEIL_BROWSER_AMBIGUOUS',
      'button "Twice" matches 2 elements, and this step needs exactly one',
    ]);
    const locked = await failureOf(s.run(steps[10]));
    expect([locked.failureClass, locked.code]).toEqual(['assertion', 'CEIL_BROWSER_NOT_ACTIONABLE']);
    expect(locked.message).toMatch(/^button "Locked" is on the page but could not be clicked within [\d.]+m?s: .*not enabled/);
    const notField = await failureOf(s.run(steps[11]));
    expect([notField.failureClass, notField.code, notField.message]).toEqual([
      'assertion',
      'CEIL_BROWSER_ACTION',
      expect.stringMatching(/^css #status could not be filled: Element is not an <input>/),
    ]);
    await s.run(steps[8]);
    const onError = await failureOf(s.run(steps[9]));
    expect(onError.message).toMatch(/^no element matches label "Comment" within .*; the page answered HTTP 500/);
  });

  it('classifies a refused port as connect and an unknown host as dns', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const s = newSession();
    const steps = await compile(
      `
- browser.open: { as: alice }
- browser.goto: { as: alice, url: "http://127.0.0.1:${port}/" }
- browser.goto: { as: alice, url: "http://no-such-host.invalid/" }
- browser.goto: { as: alice, url: /relative }
`,
    );
    await s.run(steps[0]);
    const refused = await failureOf(s.run(steps[1]));
    expect([refused.failureClass, refused.code, refused.message]).toEqual([
      'connect',
      'CEIL_CONNECT_REFUSED',
      `connection refused by http://127.0.0.1:${port}/`,
    ]);
    const dns = await failureOf(s.run(steps[2]));
    expect([dns.failureClass, dns.code]).toEqual(['dns', 'CEIL_DNS_LOOKUP']);
    const relative = await failureOf(s.run(steps[3]));
    expect([relative.failureClass, relative.code]).toEqual(['config', 'CEIL_BROWSER_URL_INVALID']);
  });

  it('times out a page that never answers, inside the step timeout, and says so', async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const s = newSession();
      const steps = await compile(
        `
- browser.open: { as: alice }
- browser.goto: { as: alice, url: "http://127.0.0.1:${(silent.address() as AddressInfo).port}/" }
  timeout: 1500ms
- browser.goto: { as: alice, url: "{{ vars.site }}/stuck-style" }
  timeout: 1500ms
- browser.expectText: { as: alice, target: { text: almost }, text: almost }
`,
        { site: site.url },
      );
      await s.run(steps[0]);
      // The step's own finding, not the bare abort the harness (like the engine) answers with at the deadline.
      const silentFailure = await failureOf(s.run(steps[1]));
      expect([silentFailure.failureClass, silentFailure.code]).toEqual(['timeout', 'CEIL_BROWSER_LOAD_TIMEOUT']);
      expect(silentFailure.message).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ sent no page within 1\.\d+s$/);
      const stuck = await failureOf(s.run(steps[2]));
      expect([stuck.failureClass, stuck.code]).toEqual(['timeout', 'CEIL_BROWSER_LOAD_TIMEOUT']);
      expect(stuck.message).toMatch(/stuck-style did not finish loading within 1\.\d+s: the page arrived, but its "load" event never came/);
      // The page is usable anyway: what did arrive can still be checked.
      await s.run(steps[3]);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('checks TLS certificates unless insecure is set', async () => {
    const [cert, key] = await Promise.all(['cert.pem', 'key.pem'].map((file) => readFile(new URL(`../../fixtures/tls/${file}`, import.meta.url))));
    const https = createHttpsServer({ cert: cert!, key: key! }, (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<title>Secure</title><p>secure page</p>');
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/`;
      const s = newSession();
      const steps = await compile(
        `
- browser.open: { as: strict }
- browser.goto: { as: strict, url: "${url}" }
- browser.open: { as: lax, insecure: true }
- browser.goto: { as: lax, url: "${url}" }
- browser.expectText: { as: lax, target: { text: secure page }, text: secure }
`,
      );
      await s.run(steps[0]);
      const tls = await failureOf(s.run(steps[1]));
      expect([tls.failureClass, tls.code]).toEqual(['tls', 'CEIL_TLS_CERTIFICATE']);
      expect(tls.details.hint).toMatch(/insecure: true/);
      await s.runAll(steps.slice(2));
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });

  it('writes named screenshots under the out folder', async () => {
    const s = newSession();
    await s.runAll(
      await compile(
        `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}" }
- browser.goto: { as: alice, url: /form }
- browser.screenshot: { as: alice, name: the-form, fullPage: true }
`,
        { site: site.url },
      ),
    );
    // Each journey gets its own folder, named like its evidence folder.
    const shot = await readFile(path.join(screenshotDir(outDir, { name: 'browser steps', file: 'browser.test.ts' }), 'the-form.png'));
    expect(shot.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('refuses steps for an actor that was never opened, and a second open of one name', async () => {
    const s = newSession();
    const steps = await compile(
      `
- browser.open: { as: alice }
- browser.open: { as: alice }
`,
    );
    await s.run(steps[0]);
    expect((await failureOf(s.run(steps[1]))).code).toBe('CEIL_ACTOR_OPEN');
    await s.close();
    expect((await failureOf(s.run((await compile('- browser.open: { as: bob }\n- browser.reload: { as: bob }'))[1]))).code).toBe('CEIL_ACTOR_UNKNOWN');
  });

  it('leaves a screenshot and a trace per actor as evidence of a failure', async () => {
    const s = newSession();
    const steps = await compile(
      `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}" }
- browser.open: { as: bob, baseUrl: "{{ vars.site }}" }
- browser.goto: { as: alice, url: /form }
- browser.expectText: { as: alice, target: { css: "#status" }, text: never, within: 200ms }
`,
      { site: site.url },
    );
    await s.runAll(steps.slice(0, 3));
    await failureOf(s.run(steps[3]));
    const dir = path.join(outDir, 'evidence');
    const { attachments, errors } = await collectEvidence(s.evidence, dir);
    expect(errors).toEqual([]);
    expect(attachments).toEqual([
      { name: 'screenshot alice', path: path.join(dir, 'alice.png'), contentType: 'image/png' },
      { name: 'trace alice', path: path.join(dir, 'alice-trace.zip'), contentType: 'application/zip' },
      { name: 'screenshot bob', path: path.join(dir, 'bob.png'), contentType: 'image/png' },
      { name: 'trace bob', path: path.join(dir, 'bob-trace.zip'), contentType: 'application/zip' },
    ]);
    for (const attachment of attachments) expect((await stat(attachment.path)).size).toBeGreaterThan(0);
    // Teardown after evidence: the traces are already stopped, the contexts close without complaint, twice.
    expect(await s.close()).toEqual([]);
    expect(await s.close()).toEqual([]);
  });

  it('stops at once when the run is interrupted mid-step', async () => {
    const s = newSession();
    const steps = await compile(
      `
- browser.open: { as: alice, baseUrl: "{{ vars.site }}" }
- browser.goto: { as: alice, url: /form }
- browser.expectText: { as: alice, target: { css: "#status" }, text: never, within: 20s }
  timeout: 30s
`,
      { site: site.url },
    );
    await s.runAll(steps.slice(0, 2));
    const pending = failureOf(s.run(steps[2]));
    setTimeout(() => s.interrupt.abort(), 200);
    const interrupted = await pending;
    expect([interrupted.failureClass, interrupted.code]).toEqual(['interrupted', 'CEIL_INTERRUPTED']);
    expect(await s.close()).toEqual([]);
  });
});

describe('browser step validation', () => {
  async function problems(stepsYaml: string): Promise<string[]> {
    const { journey, diagnostics } = await loadJourneyText('v.yaml', `name: v\nsteps:\n- browser.open: { as: alice }\n${stepsYaml.trim()}\n`);
    expect(journey).toBeUndefined();
    return diagnostics.map(formatDiagnostic);
  }

  it('reports at load time what a step needs exactly one of', async () => {
    expect(await problems('- browser.expectText: { as: alice, target: { css: p } }')).toEqual([
      expect.stringMatching(/v\.yaml:4:\d+ › steps\[1\]\.browser\.expectText: browser\.expectText needs exactly one of text, equals, regex/),
    ]);
    expect((await problems('- browser.select: { as: alice, target: { label: Size }, value: s, label: Small }'))[0]).toMatch(
      /browser\.select needs exactly one of value, label \(found value and label\)/,
    );
    expect((await problems('- browser.expectUrl: { as: alice }'))[0]).toMatch(/needs exactly one of url, contains, regex/);
    expect((await problems('- browser.waitFor: { as: alice }'))[0]).toMatch(/browser\.waitFor needs a target, a url, or both/);
    expect((await problems('- browser.expectTitle: { as: alice, regex: "a(b" }'))[0]).toMatch(/regex: not a valid regular expression/);
  });
});
