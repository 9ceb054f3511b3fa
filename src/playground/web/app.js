// The playground page: composes token requests, sends them to the real token endpoint, and shows what
// happened. Tokens and secrets stay in this page's memory; nothing is written to storage.
import { dpopAvailable, dpopKey, dpopProof, randomId } from './dpop.js';
import { decodeJwt, visibleText } from './jwt.js';
import { countdownText, el, renderOutcome } from './render.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TT = 'urn:ietf:params:oauth:token-type:';
const ID_JAG = `${TT}id-jag`;
const TOKEN_TYPES = ['access_token', 'jwt', 'id_token', 'saml2', 'saml1'];

const $ = (id) => document.getElementById(id);
const words = (value) => value.split(/\s+/).filter(Boolean);
const base = () => new URL('.', document.baseURI);

/** Requests answered so far (a test waits for the count to move). */
let answered = 0;
const answer = () => (document.body.dataset.answered = String(++answered));

const state = {
  settings: undefined,
  /** Development: the configured clients (policy only) and the published demo secrets that work. */
  clients: [],
  /** The access token issued last, the next hop's subject. */
  last: undefined,
  hops: [],
  /** The ID-JAG of step 1, waiting for step 2. */
  idJag: undefined,
};

// ---------- talking to actbridge ----------

async function getJson(url) {
  const response = await fetch(url, { credentials: 'omit', cache: 'no-store' });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error_description ?? `HTTP ${response.status}`);
  return body;
}

async function postForm(url, pairs) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'omit',
    cache: 'no-store',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(pairs),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error_description ?? `HTTP ${response.status}`);
  return body;
}

/** RFC 6749 §2.3.1: form-encode id and secret, then base64 of "id:secret" (as UTF-8). */
function basicHeader(id, secret) {
  const bytes = new TextEncoder().encode(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/**
 * POSTs a token request to `target` ({ url, htu, helpers }): with a fresh page reference for its audit
 * line, a DPoP proof when asked (once more with the server's nonce if it wants one), client credentials
 * in the header (basic) or the form (post). Then fetches the audit line the request left.
 */
async function tokenRequest(target, { form, client, dpop }) {
  const notes = [];
  let nonce;
  for (;;) {
    const ref = randomId(18);
    const pairs = [...form];
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-playground-ref': ref };
    let basic;
    if (client.auth === 'client_secret_post') {
      pairs.push(['client_id', client.id], ['client_secret', client.secret]);
    } else {
      basic = [client.id, client.secret];
      headers.authorization = basicHeader(client.id, client.secret);
    }
    let proof;
    if (dpop) {
      proof = await dpopProof(target.htu, nonce);
      headers.dpop = proof;
    }
    let response;
    try {
      response = await fetch(target.url, {
        method: 'POST',
        credentials: 'omit',
        cache: 'no-store',
        headers,
        body: new URLSearchParams(pairs),
      });
    } catch (error) {
      // A failed fetch does not say whether the request arrived: a connection lost after sending, or an
      // answer without CORS headers, fails alike, after the server issued a token or spent an ID-JAG.
      throw new NoAnswer(
        `No answer from ${target.url} (${error.message}): the request may have reached it and been decided (a token issued, an ID-JAG spent), or not; the browser does not tell this page which, the server's audit log does. ` +
          (target.peer
            ? `If it did not arrive: is the second domain running, and does its PLAYGROUND_PEER name this page's origin, ${location.origin}?`
            : 'If it did not arrive: is this server still running?'),
        { cause: error },
      );
    }
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = { unparsable: text.slice(0, 500) };
    }
    const serverNonce = response.headers.get('dpop-nonce');
    if (dpop && nonce === undefined && body.error === 'use_dpop_nonce' && serverNonce) {
      // RFC 9449 §8: retry once with the nonce the server handed out.
      notes.push('The server asked for a DPoP nonce (use_dpop_nonce); the page retried with it.');
      nonce = serverNonce;
      continue;
    }
    const request = { url: target.url, form: pairs, basic, proof };
    const audit = await postForm(target.helpers + 'audit', [['ref', ref]]).then(
      (body) => ({ line: body.line }),
      (error) => ({ error: error.message }),
    );
    return { ref, request, status: response.status, body, audit, notes };
  }
}

/** A token request sent whose answer never came (tokenRequest): unlike the errors before sending, not "Not sent". */
class NoAnswer extends Error {}

const own = () => ({
  url: new URL('oauth/token', base()).href,
  htu: state.settings.token_endpoint,
  helpers: new URL('playground/', base()).href,
});

function peerTarget(peerUrl) {
  const root = peerUrl.replace(/\/+$/, '');
  return { url: `${root}/oauth/token`, htu: `${root}/oauth/token`, helpers: `${root}/playground/`, peer: true };
}

async function demoToken(kind, sub, clientId) {
  const pairs = [['kind', kind]];
  if (sub) pairs.push(['sub', sub]);
  if (clientId) pairs.push(['client_id', clientId]);
  return postForm(new URL('playground/demo-token', base()), pairs);
}

// ---------- section 1: token exchange and the chain ----------

function fillTokenTypes() {
  for (const select of document.querySelectorAll('select.token-type')) {
    for (const name of TOKEN_TYPES) select.append(el('option', { value: TT + name }, name));
  }
  $('subject-token-type').value = `${TT}access_token`;
  $('actor-token-type').value = `${TT}jwt`;
}

function clientById(id) {
  return state.clients.find((c) => c.client_id === id);
}

function fillClientPresets() {
  const main = $('client-preset');
  const idjag = $('idjag-client');
  for (const client of state.clients) {
    const label = `${client.client_id}${client.name ? ` (${client.name})` : ''}`;
    if (client.grant_types.includes(TOKEN_EXCHANGE)) main.append(el('option', { value: client.client_id }, label));
    if (client.id_jag_targets) idjag.append(el('option', { value: client.client_id }, label));
  }
}

/** Fills id, secret and method from a configured client (the published demo secret only where it works). */
function applyClient(id, fields) {
  const client = clientById(id);
  fields.id.value = id;
  fields.secret.value = client?.demo_secret ?? '';
  if (fields.auth && client && client.auth_method !== 'private_key_jwt') fields.auth.value = client.auth_method;
  if (fields.hint) {
    fields.hint.textContent = client
      ? `audiences: ${client.audiences.join(' ') || '(none)'}${client.default_audience ? ` (default ${client.default_audience})` : ''}; scopes: ${client.scopes.join(' ') || '(none)'}`
      : '';
  }
}

function syncSourceRows() {
  const subject = $('subject-source').value;
  $('subject-demo-row').hidden = subject !== 'demo-user';
  $('subject-paste-row').hidden = subject !== 'paste';
  $('subject-token-type').disabled = subject !== 'paste';
  if (subject === 'demo-user' || subject === 'chain') $('subject-token-type').value = `${TT}access_token`;
  const actor = $('actor-source').value;
  $('actor-demo-row').hidden = actor !== 'demo-agent';
  $('actor-paste-row').hidden = actor !== 'paste';
  $('actor-type-row').hidden = actor !== 'paste';
  const idjag = $('idjag-subject-source').value;
  $('idjag-subject-demo-row').hidden = idjag !== 'demo';
  $('idjag-subject-paste-row').hidden = idjag !== 'paste';
}

async function subjectToken() {
  switch ($('subject-source').value) {
    case 'demo-user': {
      const minted = await demoToken('user', $('subject-name').value.trim());
      return { token: minted.token, type: minted.token_type };
    }
    case 'chain':
      if (!state.last) throw new Error('no token issued yet to exchange onwards');
      return { token: state.last.token, type: `${TT}access_token` };
    default: {
      const token = $('subject-token').value.trim();
      if (!token) throw new Error('paste a subject token');
      return { token, type: $('subject-token-type').value };
    }
  }
}

async function actorToken() {
  switch ($('actor-source').value) {
    case 'demo-agent': {
      const minted = await demoToken('agent', $('actor-name').value.trim());
      return { token: minted.token, type: minted.token_type };
    }
    case 'paste': {
      const token = $('actor-token').value.trim();
      if (!token) throw new Error('paste an actor token, or choose none');
      return { token, type: $('actor-token-type').value };
    }
    default:
      return undefined;
  }
}

function clientFields() {
  const client = { id: $('client-id').value.trim(), secret: $('client-secret').value, auth: $('client-auth').value };
  if (!client.id || !client.secret) throw new Error('the client needs a client_id and a secret');
  return client;
}

async function explain(ref, form) {
  const pairs = [['ref', ref], ...form.filter(([name]) => name !== 'grant_type')];
  return postForm(new URL('playground/explain', base()), pairs).catch((error) => ({ error: error.message }));
}

/**
 * Sends one of the forms: its button disabled and "Working…" in its result meanwhile; what stops the
 * request before it is sent is shown there as "Not sent", a request sent without an answer as "No answer".
 */
async function submitting(event, buttonId, resultId, send) {
  event.preventDefault();
  const button = $(buttonId);
  const result = $(resultId);
  button.disabled = true;
  result.replaceChildren(el('p', { class: 'empty' }, 'Working…'));
  try {
    await send(result);
  } catch (error) {
    const text = error instanceof NoAnswer ? error.message : `Not sent: ${error.message}`;
    result.replaceChildren(el('p', { class: 'status refused', role: 'alert' }, text));
  } finally {
    button.disabled = false;
    answer();
  }
}

/** The audience, resource and scope fields named `${prefix}audience` and so on. */
function targetRequest(prefix = '') {
  return {
    audience: words($(`${prefix}audience`).value),
    resource: words($(`${prefix}resource`).value),
    scope: $(`${prefix}scope`).value.trim() || undefined,
  };
}

/** A token request's audience, resource and scope parameters (RFC 8693 §2.1). */
function targetParams(request) {
  return [
    ...request.audience.map((a) => ['audience', a]),
    ...request.resource.map((r) => ['resource', r]),
    ...(request.scope === undefined ? [] : [['scope', request.scope]]),
  ];
}

async function onExchange(event) {
  await submitting(event, 'exchange-button', 'result-body', async (result) => {
    const subject = await subjectToken();
    const actor = await actorToken();
    const client = clientFields();
    const requestedType = $('requested-type').value;
    const request = targetRequest();
    const form = [
      ['grant_type', TOKEN_EXCHANGE],
      ['subject_token', subject.token],
      ['subject_token_type', subject.type],
    ];
    if (actor) form.push(['actor_token', actor.token], ['actor_token_type', actor.type]);
    form.push(...targetParams(request));
    if (requestedType) form.push(['requested_token_type', requestedType]);
    const dpop = $('dpop').checked;

    const outcome = await tokenRequest(own(), { form, client, dpop });
    if (outcome.status !== 200 && requestedType !== ID_JAG) outcome.explain = await explain(outcome.ref, form);
    outcome.context = await claimsContext(request, subject.token, client.id, dpop);
    renderOutcome(result, outcome);
    recordHop(outcome, client.id, requestedType);
  });
}

async function claimsContext(request, subjectToken, clientId, dpop) {
  return {
    settings: state.settings,
    request,
    subjectClaims: decodeJwt(subjectToken)?.claims,
    client: clientById(clientId),
    dpopJkt: dpop ? (await dpopKey()).thumbprint : undefined,
  };
}

function recordHop(outcome, clientId, requestedType) {
  const ok = outcome.status === 200;
  const claims = ok ? decodeJwt(outcome.body.access_token)?.claims : undefined;
  let depth = 0;
  for (let level = claims?.act; level && typeof level === 'object'; level = level.act) depth++;
  const text = ok
    ? `${clientId} → ${[].concat(claims?.aud ?? '?').join(' ')}: issued, scope "${outcome.body.scope ?? ''}", ${depth} actor(s)`
    : `${clientId}: refused, ${outcome.body.error}: ${outcome.body.error_description ?? ''}`;
  state.hops.push(text);
  $('history-list').append(el('li', { class: ok ? 'issued' : 'refused' }, text));

  if (ok && requestedType === ID_JAG) {
    takeIdJag(outcome.body.access_token, 'section 1');
    return;
  }
  if (!ok || !claims) return;
  state.last = { token: outcome.body.access_token, claims };
  const chainOption = $('subject-source').querySelector('option[value="chain"]');
  chainOption.disabled = false;
  const onwards = el('button', { type: 'button', id: 'exchange-onwards' }, 'Exchange this token onwards');
  onwards.addEventListener('click', () => chainOnwards(claims));
  $('result-body').prepend(
    el(
      'div',
      { class: 'bar' },
      el('span', { class: 'hint' }, `Depth ${depth} of at most ${state.settings.max_chain_depth} actors.`),
      onwards,
    ),
  );
}

/** The issued token becomes the next subject; the client it is addressed to (if known) the next caller. */
function chainOnwards(claims) {
  $('subject-source').value = 'chain';
  $('actor-source').value = 'none';
  syncSourceRows();
  const next = [].concat(claims.aud ?? []).find((aud) => clientById(aud));
  $('client-preset').value =
    next && $('client-preset').querySelector(`option[value="${CSS.escape(next)}"]`) ? next : '';
  if (next) applyClient(next, mainClientFields());
  for (const id of ['audience', 'resource', 'scope']) $(id).value = '';
  $('requested-type').value = '';
  $('notice').textContent = visibleText(
    `Next hop: the token issued to ${[].concat(claims.aud ?? []).join(' ')} is now the subject.`,
  );
  $('client-id').focus();
}

const mainClientFields = () => ({
  id: $('client-id'),
  secret: $('client-secret'),
  auth: $('client-auth'),
  hint: $('client-hint'),
});

// ---------- section 3: ID-JAG in two steps ----------

function takeIdJag(token, from) {
  const claims = decodeJwt(token)?.claims ?? {};
  state.idJag = { token, claims };
  $('idjag-redeem-button').disabled = false;
  const peer = typeof claims.aud === 'string' ? claims.aud : $('peer-url').value;
  if (!$('peer-url').value || from === 'step 1') $('peer-url').value = peer;
  $('peer-client-id').value = claims.client_id ?? '';
  void peerDemoSecret($('peer-url').value, claims.client_id);
  $('peer-hint').textContent = visibleText(
    `ID-JAG from ${from}: aud ${claims.aud}, client_id there ${claims.client_id}.`,
  );
}

/** Whether the page's CSP lets it connect to `url`: this server's origin, or PLAYGROUND_PEER's. */
function isPeerOrigin(url) {
  try {
    const origin = new URL(url).origin;
    return origin === location.origin || (!!state.settings.peer && origin === new URL(state.settings.peer).origin);
  } catch {
    return false;
  }
}

/** The second domain's published demo secret for its client, when it is a development playground too. */
async function peerDemoSecret(peerUrl, clientId) {
  try {
    const demo = await getJson(`${peerUrl.replace(/\/+$/, '')}/playground/demo`);
    const client = demo.clients.find((c) => c.client_id === clientId);
    if (client?.demo_secret && !$('peer-client-secret').value) $('peer-client-secret').value = client.demo_secret;
  } catch {
    // Not a development playground, or not reachable from here: the person types the secret.
  }
}

async function onIssueIdJag(event) {
  await submitting(event, 'idjag-issue-button', 'idjag-issue-result', async (result) => {
    const client = {
      id: $('idjag-client-id').value.trim(),
      secret: $('idjag-client-secret').value,
      auth: 'client_secret_basic',
    };
    const configured = clientById(client.id);
    if (configured && configured.auth_method === 'client_secret_post') client.auth = 'client_secret_post';
    if (!client.id || !client.secret) throw new Error('the client needs a client_id and a secret');
    let subject;
    if ($('idjag-subject-source').value === 'demo') {
      subject = (await demoToken('id_token', $('idjag-subject-name').value.trim(), client.id)).token;
    } else {
      subject = $('idjag-subject-token').value.trim();
      if (!subject) throw new Error('paste an ID token');
    }
    const request = targetRequest('idjag-');
    const form = [
      ['grant_type', TOKEN_EXCHANGE],
      ['requested_token_type', ID_JAG],
      ['subject_token', subject],
      ['subject_token_type', `${TT}id_token`],
      ...targetParams(request),
    ];
    const outcome = await tokenRequest(own(), { form, client, dpop: false });
    outcome.context = await claimsContext(request, subject, client.id, false);
    renderOutcome(result, outcome);
    if (outcome.status === 200) takeIdJag(outcome.body.access_token, 'step 1');
  });
}

async function onRedeemIdJag(event) {
  await submitting(event, 'idjag-redeem-button', 'idjag-redeem-result', async (result) => {
    if (!state.idJag) throw new Error('issue an ID-JAG first (step 1)');
    const peerUrl = $('peer-url').value.trim();
    if (!peerUrl) throw new Error("the second domain's URL is needed");
    // The page's CSP (connect-src) lets it reach this server and PLAYGROUND_PEER only: say so before the browser blocks it.
    if (!isPeerOrigin(peerUrl)) {
      throw new Error(
        `this page may call only its own server and this server's PLAYGROUND_PEER (${state.settings.peer ?? 'unset'}), not ${peerUrl}`,
      );
    }
    const client = {
      id: $('peer-client-id').value.trim(),
      secret: $('peer-client-secret').value,
      auth: 'client_secret_basic',
    };
    if (!client.id || !client.secret) throw new Error('the client at the second domain needs a client_id and a secret');
    const scope = $('peer-scope').value.trim() || undefined;
    const form = [
      ['grant_type', JWT_BEARER],
      ['assertion', state.idJag.token],
    ];
    if (scope !== undefined) form.push(['scope', scope]);
    const outcome = await tokenRequest(peerTarget(peerUrl), { form, client, dpop: false });
    outcome.context = {
      settings: { ...state.settings, issuer: peerUrl.replace(/\/+$/, '') },
      request: { audience: [], resource: [], scope },
      subjectClaims: state.idJag.claims,
      client: undefined,
      dpopJkt: undefined,
    };
    renderOutcome(result, outcome, { alwaysChain: false });
  });
}

function applyIdJagClient(id) {
  applyClient(id, { id: $('idjag-client-id'), secret: $('idjag-client-secret') });
  const target =
    clientById(id)?.id_jag_targets?.find((t) => t.audience === state.settings.peer) ??
    clientById(id)?.id_jag_targets?.[0];
  if (target) {
    $('idjag-audience').value = target.audience;
    $('idjag-resource').value = target.resources[0] ?? '';
    $('idjag-scope').value = target.scopes[0] ?? '';
  }
}

// ---------- start ----------

function tick() {
  for (const span of document.querySelectorAll('[data-exp]'))
    span.textContent = countdownText(Number(span.dataset.exp));
}

/** The demo identity's name (label, default) and the pasted token's label under each token source select. */
const TOKEN_SOURCES = {
  subject: { demoName: "Demo user's name", demoValue: 'alice', pasteLabel: 'Subject token' },
  actor: { demoName: "Demo agent's name", demoValue: 'agent-1', pasteLabel: 'Actor token', demoHidden: true },
  'idjag-subject': { demoName: "Demo user's name", demoValue: 'alice', pasteLabel: 'ID token' },
};

/**
 * The two rows under a token source select, in place of its placeholder (data-token-source): the
 * demo identity's name, `${id}-name`, and a pasted token, `${id}-token`; syncSourceRows shows one.
 */
function buildTokenSourceRows(placeholder) {
  const id = placeholder.dataset.tokenSource;
  const { demoName, demoValue, pasteLabel, demoHidden = false } = TOKEN_SOURCES[id];
  const field = { autocomplete: 'off', spellcheck: 'false' };
  placeholder.replaceWith(
    el(
      'div',
      { class: 'row', id: `${id}-demo-row`, hidden: demoHidden },
      el('label', { for: `${id}-name` }, `${demoName} (`, el('code', {}, 'sub'), ')'),
      el('input', { id: `${id}-name`, value: demoValue, ...field }),
    ),
    el(
      'div',
      { class: 'row', id: `${id}-paste-row`, hidden: true },
      el('label', { for: `${id}-token` }, pasteLabel),
      el('textarea', { id: `${id}-token`, rows: 3, ...field }),
    ),
  );
}

async function start() {
  for (const placeholder of document.querySelectorAll('[data-token-source]')) buildTokenSourceRows(placeholder);
  fillTokenTypes();
  state.settings = await getJson(new URL('playground/settings', base()));
  $('issuer').textContent = state.settings.issuer;
  const badge = $('mode-badge');
  badge.textContent = state.settings.mode === 'development' ? 'development (start-dev)' : 'production';
  badge.classList.toggle('production', state.settings.mode !== 'development');
  $('peer-url').value = state.settings.peer ?? '';
  $('idjag-audience').value = state.settings.peer ?? '';
  $('peer-hint').textContent = state.settings.peer
    ? 'PLAYGROUND_PEER: this page may call it, and it lets this page call its token endpoint.'
    : 'No PLAYGROUND_PEER is set: a second actbridge can only be called once both name each other (docs/playground.md).';

  if (state.settings.demo) {
    state.clients = (await getJson(new URL('playground/demo', base()))).clients;
    fillClientPresets();
  } else {
    // Production: no demo IdP and no demo clients; the person pastes tokens and types credentials.
    for (const option of document.querySelectorAll('option[data-demo]')) option.remove();
    $('subject-source').value = 'paste';
    $('idjag-subject-source').value = 'paste';
    $('notice').textContent =
      'Production: paste real tokens and type client credentials; operator detail stays in the server log.';
  }
  if (!dpopAvailable()) {
    $('dpop').disabled = true;
    $('dpop-hint').textContent = 'WebCrypto needs https (or http on localhost): DPoP is unavailable here.';
  }
  syncSourceRows();

  const first = state.clients.find((c) => c.grant_types.includes(TOKEN_EXCHANGE) && c.demo_secret);
  if (first) {
    $('client-preset').value = first.client_id;
    applyClient(first.client_id, mainClientFields());
    if (first.audiences.length > 0 && !first.default_audience) $('audience').value = first.audiences[0];
  }
  const idjagClient = state.clients.find((c) => c.id_jag_targets && c.demo_secret);
  if (idjagClient) {
    $('idjag-client').value = idjagClient.client_id;
    applyIdJagClient(idjagClient.client_id);
  }

  $('subject-source').addEventListener('change', syncSourceRows);
  $('actor-source').addEventListener('change', syncSourceRows);
  $('idjag-subject-source').addEventListener('change', syncSourceRows);
  $('client-preset').addEventListener('change', (e) => applyClient(e.target.value, mainClientFields()));
  $('idjag-client').addEventListener('change', (e) => applyIdJagClient(e.target.value));
  $('exchange-form').addEventListener('submit', onExchange);
  $('idjag-issue-form').addEventListener('submit', onIssueIdJag);
  $('idjag-redeem-form').addEventListener('submit', onRedeemIdJag);
  setInterval(tick, 1000);
  document.body.dataset.ready = 'true';
}

start().catch((error) => {
  $('notice').textContent = `The playground could not start: ${error.message}`;
});
