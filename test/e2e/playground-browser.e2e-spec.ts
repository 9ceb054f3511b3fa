import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { describeWithChromium, launchChromium } from '../support/chromium.js';
import { freePort } from '../support/free-port.js';
import { demoClients, demoIdpAnchor, domainBClients, TODOS } from '../support/playground.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The playground in a real browser (Debian's chromium, driven by playwright-core), against two
 * development actbridges that name each other in PLAYGROUND_PEER: domain A serves the page (the demo
 * IdP with policy rules, the shipped demo clients, MAX_CHAIN_DEPTH 3), domain B redeems A's ID-JAGs.
 * The page's screenshot goes to SCREENSHOT (docs/playground.png is a copy of it).
 */

const SCREENSHOT = join(tmpdir(), 'actbridge-playground.png');
const describeBrowser = describeWithChromium();

let domainA: TestApp;
let domainB: TestApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

let answered = 0;

/** Presses a button and waits until the page has shown the answer. */
async function press(selector: string): Promise<void> {
  await page.click(selector);
  answered += 1;
  await page.waitForSelector(`body[data-answered="${answered}"]`);
}

function chainNodes(scope = '#result-body'): Promise<string[][]> {
  return page.$$eval(`${scope} svg#act-chain g.node`, (nodes) =>
    nodes.map((n) => [(n as unknown as Dataset).dataset.role!, (n as unknown as Dataset).dataset.sub!]),
  );
}

async function claim(name: string, scope = '#result-body'): Promise<unknown> {
  const text = await page.textContent(`${scope} #token-claims tr[data-claim="${name}"] td.value`);
  return text === null ? undefined : text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text;
}

async function shownAuditLine(scope = '#result-body'): Promise<Record<string, unknown>> {
  return JSON.parse((await page.textContent(`${scope} pre.audit-line`))!) as Record<string, unknown>;
}

async function explainSteps(): Promise<string[][]> {
  return page.$$eval('#explain ol.steps li', (items) =>
    items.map((li) => [(li as unknown as Dataset).dataset.step!, (li as unknown as Dataset).dataset.state!]),
  );
}

const DEMO = 'https://demo-idp.actbridge.invalid';

/** An element's data attributes, as the page reads them (this file is compiled without the DOM library). */
type Dataset = { dataset: Record<string, string | undefined> };

describeBrowser('the playground in Chromium', () => {
  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [issuerA, issuerB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
    domainA = await startTestApp({
      port: portA,
      env: { MAX_CHAIN_DEPTH: '3', PLAYGROUND_PEER: issuerB },
      anchors: {
        'demo-idp': demoIdpAnchor({
          rules: [
            {
              name: 'cross-app-access',
              condition: 'client_id == "chat-agent"',
              grants: { audiences: [issuerB], scopes: ['todos.read'] },
            },
            {
              name: 'agents',
              condition: 'client_id == "demo-agent" && sub == "alice"',
              grants: { audiences: ['demo-tool', 'https://api.example.com'], scopes: ['read'] },
            },
          ],
        }),
      },
      clients: demoClients(issuerB),
    });
    domainB = await startTestApp({
      port: portB,
      env: { PLAYGROUND_PEER: issuerA },
      anchors: { 'domain-a': { issuer: issuerA, audiences: [issuerB], id_jag: { jti: 'single_use' } } },
      clients: domainBClients(),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // A refused token request is a 400 the browser logs as a failed load; anything else is a bug.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await domainB?.close();
    await domainA?.close();
  });

  it('opens with the demo clients, every control labelled', async () => {
    await page.goto(`${domainA.baseUrl}/playground`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.textContent('#mode-badge')).toBe('development (start-dev)');
    expect(await page.inputValue('#client-id')).toBe('demo-agent');
    const unlabelled = await page.$$eval('input, select, textarea', (controls) =>
      controls
        .filter((c) => (c as unknown as { labels: { length: number } | null }).labels?.length === 0)
        .map((c) => c.id),
    );
    expect(unlabelled).toEqual([]);
    // Keyboard: the skip link comes first and leads to the form.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to the request form');
  });

  it('runs the demo delegation: user alice, actor agent-1, a DPoP-bound token, its act drawn and audited', async () => {
    await page.selectOption('#actor-source', 'demo-agent');
    await page.fill('#audience', 'demo-tool');
    await page.fill('#scope', 'read');
    await page.check('#dpop');
    await press('#exchange-button');

    expect(await page.textContent('#result-body .status')).toBe('200 OK: access_token issued');
    expect(await claim('act')).toEqual({ sub: 'agent-1', iss: DEMO });
    expect(await claim('sub')).toBe('alice');
    expect(await chainNodes()).toEqual([
      ['subject', 'alice'],
      ['current', 'agent-1'],
    ]);
    expect(await page.textContent('#result-body #token-claims tr[data-claim="cnf"] td.note')).toContain(
      "bound to this page's DPoP key",
    );
    expect(await page.textContent('#result-body #token-claims tr[data-claim="scope"] td.note')).toContain(
      'Narrowed away: write (not requested)',
    );
    expect(await page.textContent('#result-body #token-claims tr[data-claim="exp"] .countdown')).toMatch(
      /^expires in \d+:\d\d$/,
    );
    const line = await shownAuditLine();
    expect(line).toEqual(domainA.audit.lines.find((l) => l.request_id === line.request_id));
    expect(line).toMatchObject({
      event: 'token.issued',
      client_id: 'demo-agent',
      mode: 'delegation',
      actors: [{ sub: 'agent-1', iss: DEMO }],
      rule: 'demo-idp/agents',
    });
    expect(line.dpop_jkt).toBe(((await claim('cnf')) as { jkt: string }).jkt);
    expect(await page.textContent('#result-body pre.curl')).toContain(`curl -s '${domainA.baseUrl}/oauth/token'`);
  });

  it('chains two more hops (tool, then agent again), the picture growing, until the depth limit refuses', async () => {
    await page.click('#exchange-onwards');
    expect(await page.inputValue('#client-id')).toBe('demo-tool'); // the token's audience, a demo client
    await page.fill('#audience', 'demo-agent');
    await press('#exchange-button');
    expect(await chainNodes()).toEqual([
      ['subject', 'alice'],
      ['actor', 'agent-1'],
      ['current', 'demo-tool'],
    ]);

    await page.click('#exchange-onwards');
    expect(await page.inputValue('#client-id')).toBe('demo-agent');
    await page.fill('#audience', 'demo-tool');
    await press('#exchange-button');
    expect(await claim('act')).toEqual({
      sub: 'demo-agent',
      iss: domainA.issuer,
      act: { sub: 'demo-tool', iss: domainA.issuer, act: { sub: 'agent-1', iss: DEMO } },
    });
    expect(await chainNodes()).toEqual([
      ['subject', 'alice'],
      ['actor', 'agent-1'],
      ['actor', 'demo-tool'],
      ['current', 'demo-agent'],
    ]);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: SCREENSHOT });
    process.stderr.write(`playground screenshot: ${SCREENSHOT} (copy it to docs/playground.png)\n`);

    await page.click('#exchange-onwards');
    await page.fill('#audience', 'demo-agent');
    await press('#exchange-button');
    expect(await page.textContent('#result-body [data-field="error"]')).toBe(
      'invalid_request: delegation chain too deep: the token would record 4 actors, at most 3 are allowed',
    );
    expect(await page.textContent('#explain [data-field="failing-step"] strong')).toBe('delegation');
    expect(await page.$$eval('#history-list li', (items) => items.map((li) => li.className))).toEqual([
      'issued',
      'issued',
      'issued',
      'refused',
    ]);
  });

  it('explains a scope escalation: each rule with its inputs and result, and the failing step', async () => {
    await page.selectOption('#subject-source', 'demo-user');
    await page.selectOption('#actor-source', 'none');
    await page.selectOption('#client-preset', 'demo-agent');
    await page.fill('#audience', 'demo-tool');
    await page.fill('#scope', 'read write');
    await press('#exchange-button');

    expect(await page.textContent('#result-body [data-field="error"]')).toBe(
      "invalid_scope: scope exceeds what this subject's trust anchor policy grants",
    );
    expect(await explainSteps()).toEqual([
      ['request', 'passed'],
      ['client', 'passed'],
      ['subject_token', 'passed'],
      ['actor_token', 'passed'],
      ['delegation', 'failed'],
    ]);
    expect(
      await page.$$eval('#explain li.rule', (items) =>
        items.map((li) => [(li as unknown as Dataset).dataset.rule, (li as unknown as Dataset).dataset.result]),
      ),
    ).toEqual([
      ['cross-app-access', 'not matched'],
      ['agents', 'matched'],
    ]);
    expect(await page.textContent('#explain li.rule[data-rule="agents"]')).toContain('client_id = "demo-agent"');
    expect(await page.textContent('#explain li.rule[data-rule="agents"] code')).toBe(
      'client_id == "demo-agent" && sub == "alice"',
    );
    expect(await page.textContent('#explain [data-field="failing-step"]')).toBe(
      "Refused at step delegation: invalid_scope: scope exceeds what this subject's trust anchor policy grants " +
        '(operator detail: rule demo-idp/agents does not grant: write)',
    );
    expect(await page.textContent('#explain pre.explain-text')).toContain(
      'outcome   WOULD REFUSE at step "delegation"',
    );
    expect(await shownAuditLine()).toMatchObject({
      event: 'token.refused',
      error: 'invalid_scope',
      reason: 'rule demo-idp/agents does not grant: write',
    });
  });

  it('issues an ID-JAG here and redeems it at the second domain, as two steps', async () => {
    expect(await page.inputValue('#idjag-client-id')).toBe('chat-agent');
    expect(await page.inputValue('#idjag-audience')).toBe(domainB.issuer);
    await press('#idjag-issue-button');
    expect(await page.textContent('#idjag-issue-result .status')).toBe('200 OK: id-jag issued');
    expect(await page.textContent('#idjag-issue-result #token-header tr[data-claim="typ"] td.value')).toBe(
      'oauth-id-jag+jwt',
    );
    expect(await claim('aud', '#idjag-issue-result')).toBe(domainB.issuer);
    expect(await claim('client_id', '#idjag-issue-result')).toBe('chat-agent-at-b');
    expect(await shownAuditLine('#idjag-issue-result')).toMatchObject({
      event: 'token.issued',
      issued_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      rule: 'demo-idp/cross-app-access',
    });

    expect(await page.inputValue('#peer-client-id')).toBe('chat-agent-at-b');
    await page.waitForFunction("document.getElementById('peer-client-secret').value !== ''");
    await press('#idjag-redeem-button');
    expect(await page.textContent('#idjag-redeem-result .status')).toBe('200 OK: access_token issued');
    expect(await claim('iss', '#idjag-redeem-result')).toBe(domainB.issuer);
    expect(await claim('aud', '#idjag-redeem-result')).toBe(TODOS);
    expect(await claim('sub_id', '#idjag-redeem-result')).toEqual({
      format: 'iss_sub',
      iss: domainA.issuer,
      sub: 'alice',
    });
    const line = await shownAuditLine('#idjag-redeem-result');
    expect(line).toEqual(domainB.audit.lines.find((l) => l.request_id === line.request_id));
    expect(line).toMatchObject({
      event: 'token.issued',
      client_id: 'chat-agent-at-b',
      assertion_type: 'urn:ietf:params:oauth:token-type:id-jag',
    });

    // Single use at B: the same ID-JAG again is refused, and the page says so.
    await press('#idjag-redeem-button');
    expect(await page.textContent('#idjag-redeem-result [data-field="error"]')).toBe(
      'invalid_grant: assertion has already been used (jti replay)',
    );
  });

  it('a request sent that gets no answer says so, not "Not sent"; a second domain outside the CSP is not sent', async () => {
    await press('#idjag-issue-button');
    expect(await page.textContent('#idjag-issue-result .status')).toBe('200 OK: id-jag issued');
    const url = `${domainB.issuer}/oauth/token`;
    const lines = domainB.audit.lines.length;
    // The redemption reaches domain B, which spends the ID-JAG and issues; then the connection is lost.
    await page.route(url, async (route) => {
      await route.fetch();
      await route.abort('connectionreset');
    });
    await press('#idjag-redeem-button');
    await page.unroute(url);
    expect(domainB.audit.lines.slice(lines)).toContainEqual(
      expect.objectContaining({ event: 'token.issued', client_id: 'chat-agent-at-b' }),
    );
    expect(await page.textContent('#idjag-redeem-result .status')).toBe(
      `No answer from ${url} (Failed to fetch): the request may have reached it and been decided (a token issued, an ID-JAG spent), or not; the browser does not tell this page which, the server's audit log does. ` +
        `If it did not arrive: is the second domain running, and does its PLAYGROUND_PEER name this page's origin, ${domainA.baseUrl}?`,
    );

    await page.fill('#peer-url', 'http://127.0.0.1:9');
    await press('#idjag-redeem-button');
    expect(await page.textContent('#idjag-redeem-result .status')).toBe(
      `Not sent: this page may call only its own server and this server's PLAYGROUND_PEER (${domainB.issuer}), not http://127.0.0.1:9`,
    );
    await page.fill('#peer-url', domainB.issuer);
  });

  it('stays readable on a narrow window: one column, no sideways scrolling, the chain as a column', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    await page.selectOption('#subject-source', 'demo-user');
    await page.selectOption('#actor-source', 'demo-agent');
    await page.fill('#scope', 'read');
    await press('#exchange-button');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
    expect(await page.getAttribute('#result-body svg#act-chain', 'data-per-row')).toBe('1');
    expect(pageErrors).toEqual([]);
  });
});
