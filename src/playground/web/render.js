// Rendering of one token request: curl, response, decoded token with notes, act chain, audit line, explain.
import { chainFigure } from './chain.js';
import { claimNotes, decodeJwt, headerNotes, visibleText } from './jwt.js';

/** `el('p', { class: 'x' }, 'text', child)`: attributes set as attributes, `dataset` and `on*` aside. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    // Text only, never markup; and no character that would reorder what the page shows (visibleText).
    node.append(child instanceof Node ? child : visibleText(child));
  }
  return node;
}

const POLICY_STEPS = ['request', 'client', 'subject_token', 'actor_token', 'delegation'];

function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** The request as a curl command a person can paste into a shell. */
export function curlCommand(request) {
  const lines = [`curl -s ${shellQuote(request.url)}`];
  if (request.basic) lines.push(`-u ${shellQuote(`${request.basic[0]}:${request.basic[1]}`)}`);
  if (request.proof) lines.push(`-H ${shellQuote(`DPoP: ${request.proof}`)}`);
  for (const [name, value] of request.form) lines.push(`--data-urlencode ${shellQuote(`${name}=${value}`)}`);
  return lines.join(' \\\n  ');
}

function pre(value, attrs = {}) {
  return el('pre', attrs, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

function copyButton(getText, label) {
  const button = el('button', { type: 'button', class: 'secondary' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(getText());
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select the text and copy it';
    }
    setTimeout(() => (button.textContent = label), 2000);
  });
  return button;
}

/**
 * Renders one exchange into `container`.
 * `outcome`: { title, request, status, body, audit, explain?, notes?, context }, where `context` is what
 * jwt.js's claimNotes needs.
 */
export function renderOutcome(container, outcome, options = {}) {
  container.replaceChildren();
  const ok = outcome.status === 200;
  const issued = outcome.body.issued_token_type?.split(':').pop() ?? 'access_token';
  const status = ok
    ? `${outcome.status} OK: ${issued} issued`
    : `${outcome.status} refused: ${outcome.body.error ?? 'error'}`;
  container.append(
    el(
      'p',
      { class: `status ${ok ? 'ok' : 'refused'}`, role: 'status', dataset: { outcome: ok ? 'issued' : 'refused' } },
      status,
    ),
  );
  if (!ok && outcome.body.error_description) {
    container.append(
      el(
        'p',
        { class: 'failing', dataset: { field: 'error' } },
        `${outcome.body.error}: ${outcome.body.error_description}`,
      ),
    );
  }
  for (const note of outcome.notes ?? []) container.append(el('p', { class: 'hint' }, note));

  // What a person looks for first: the picture and the claims when issued, the reason when refused.
  const decoded = ok ? decodeJwt(outcome.body.access_token) : undefined;
  if (decoded) renderToken(container, decoded, outcome.context, options);
  if (outcome.explain) renderExplain(container, outcome.explain);
  renderAudit(container, outcome.audit);

  const curl = curlCommand(outcome.request);
  container.append(
    el(
      'div',
      { class: 'bar' },
      el('h3', {}, 'Request (curl)'),
      copyButton(() => curl, 'Copy curl'),
    ),
    pre(curl, { class: 'curl' }),
  );
  if (outcome.request.proof) {
    container.append(el('p', { class: 'hint' }, 'A DPoP proof is single use: a copied command needs a fresh one.'));
  }
  container.append(el('h3', {}, 'Response'), pre(outcome.body, { class: 'response' }));
}

function renderToken(container, { header, claims }, context, options) {
  if (claims.act !== undefined || options.alwaysChain) {
    const holder = el('div', { class: 'chain-holder' });
    container.append(el('h3', {}, 'The act chain'), holder);
    // Redrawn when the room changes (a row of nodes, or a column on a narrow window).
    let drawnFor = -1;
    const draw = () => {
      const width = holder.clientWidth || 600;
      if (width === drawnFor) return;
      drawnFor = width;
      holder.replaceChildren(chainFigure(claims, width));
    };
    draw();
    new ResizeObserver(draw).observe(holder);
  }
  container.append(
    el('h3', {}, 'Issued token, decoded'),
    el('h4', {}, 'Claims'),
    table(claimNotes(claims, context), 'token-claims'),
    el('h4', {}, 'Header'),
    table(headerNotes(header, context.settings), 'token-header'),
  );
}

function table(rows, id) {
  const body = el('tbody');
  for (const row of rows) {
    const note = row.note;
    const noteCell = el('td', { class: 'note' });
    if (note && typeof note === 'object' && 'countdown' in note) {
      noteCell.append(
        el('span', { class: 'countdown', dataset: { exp: String(note.countdown) } }, countdownText(note.countdown)),
      );
      if (note.text) noteCell.append(`; ${note.text}`);
    } else if (note) {
      noteCell.append(note);
    }
    body.append(
      el(
        'tr',
        { dataset: { claim: row.name } },
        el('th', { scope: 'row' }, row.name),
        el('td', { class: 'value' }, typeof row.value === 'string' ? row.value : JSON.stringify(row.value, null, 1)),
        noteCell,
      ),
    );
  }
  return el(
    'table',
    { class: 'claims', id },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'name'),
        el('th', { scope: 'col' }, 'value'),
        el('th', { scope: 'col' }, 'what it means'),
      ),
    ),
    body,
  );
}

export function countdownText(exp) {
  const left = exp - Math.floor(Date.now() / 1000);
  if (left <= 0) return 'expired';
  const minutes = Math.floor(left / 60);
  return `expires in ${minutes}:${String(left % 60).padStart(2, '0')}`;
}

function renderAudit(container, audit) {
  container.append(el('h3', {}, 'Audit line'));
  if (!audit) return;
  if (audit.line) container.append(pre(audit.line, { class: 'audit-line' }));
  else container.append(el('p', { class: 'hint' }, `Not available: ${audit.error}`));
}

/** The explain report (policy-check.ts) as a list of steps, the rules with their inputs, and the CLI's text. */
export function renderExplain(container, explain) {
  const box = el('section', { class: 'explain', id: 'explain', 'aria-labelledby': 'explain-title' });
  box.append(el('h3', { id: 'explain-title' }, 'Why: the explain trace (as npm run explain)'));
  container.append(box);
  if (explain.error) {
    box.append(el('p', { class: 'hint' }, `No explanation: ${explain.error}`));
    return;
  }
  const { report, text, conditions } = explain;
  const outcome = report.outcome;
  const failed = outcome.decision === 'refuse' ? outcome.step : undefined;
  const steps = el('ol', { class: 'steps', 'aria-label': 'steps of the exchange' });
  let reached = true;
  for (const step of POLICY_STEPS) {
    const state = step === failed ? 'failed' : reached ? 'passed' : 'skipped';
    steps.append(
      el('li', { class: state, dataset: { step, state } }, `${step}: ${state === 'skipped' ? 'not reached' : state}`),
    );
    if (step === failed) reached = false;
  }
  box.append(steps);

  const facts = el('dl');
  const fact = (name, value) => facts.append(el('dt', {}, name), el('dd', {}, value));
  fact('client', report.client_id);
  if (report.subject) fact('subject', `${report.subject.sub} (issuer ${report.subject.iss})`);
  if (report.anchor) {
    fact(
      'anchor matched',
      `${report.anchor.name} (${report.anchor.issuer})${report.anchor.has_rules ? '' : ': no rules; the token scope ∩ client policy decide'}`,
    );
  }
  box.append(facts);

  if (report.rules) {
    box.append(el('h4', {}, 'Rules, in order (the first match decides)'));
    const list = el('ol', { class: 'rules' });
    const first = report.rules.findIndex((r) => r.result === 'matched');
    report.rules.forEach((rule, i) => {
      const item = el('li', {
        class: `rule ${i === first ? 'matched' : ''}`,
        dataset: { rule: rule.rule, result: rule.result },
      });
      item.append(
        `${rule.rule}: ${rule.result}${i === first ? ' (decides)' : ''}${rule.error ? `: ${rule.error}` : ''}`,
      );
      if (conditions?.[rule.rule]) item.append(el('div', {}, el('code', {}, conditions[rule.rule])));
      const reads = el('ul');
      for (const read of rule.reads)
        reads.append(
          el(
            'li',
            {},
            el('code', {}, `${read.path} = ${read.value === undefined ? '(absent)' : JSON.stringify(read.value)}`),
          ),
        );
      if (rule.reads.length === 0) reads.append(el('li', {}, '(reads no variables)'));
      item.append(reads);
      list.append(item);
    });
    box.append(list);
  }

  if (outcome.decision === 'refuse') {
    box.append(
      el(
        'p',
        { class: 'failing', dataset: { field: 'failing-step' } },
        'Refused at step ',
        el('strong', { dataset: { step: outcome.step } }, outcome.step),
        `: ${outcome.error}: ${outcome.error_description}`,
        outcome.detail ? ` (operator detail: ${outcome.detail})` : '',
      ),
    );
  } else {
    box.append(
      el(
        'p',
        {},
        `Would issue: sub ${outcome.sub}, audience ${outcome.audience.join(' ')}, scope "${outcome.scope}", ${outcome.ttl} s.`,
      ),
    );
    // RFC 9449 §6.1: a bound presented token is accepted only with a DPoP proof by its key.
    if (outcome.dpop_required_by_client && !outcome.dpop_jkt) {
      box.append(
        el(
          'p',
          { dataset: { field: 'dpop-required' } },
          "Only with a DPoP proof (by any key): the client's dpop_bound_access_tokens.",
        ),
      );
    }
    if (outcome.dpop_jkt) {
      box.append(
        el(
          'p',
          { dataset: { field: 'dpop-jkt' } },
          `Only with a DPoP proof signed with the key of thumbprint ${outcome.dpop_jkt} (the presented token's cnf.jkt).`,
        ),
      );
    }
  }
  box.append(
    el('details', {}, el('summary', {}, 'As npm run explain prints it'), pre(text, { class: 'explain-text' })),
  );
}
