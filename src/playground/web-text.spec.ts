import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

/**
 * The page's scripts (web/*.js, plain browser modules) write every value as text, never markup; these
 * cases check that what a token's claims hold cannot reorder what the page shows either.
 */

/** Just enough DOM for el() and chainFigure(): nodes with attributes, children and text. */
class FakeNode {
  readonly children: Array<FakeNode | string> = [];
  readonly attributes: Record<string, string> = {};
  readonly dataset: Record<string, string> = {};
  id = '';
  className = '';
  private text = '';
  append(...children: Array<FakeNode | string>): void {
    this.children.push(...children);
  }
  setAttribute(name: string, value: string): void {
    this.attributes[name] = value;
  }
  addEventListener(): void {}
  get textContent(): string {
    return this.text + this.children.map((c) => (typeof c === 'string' ? c : c.textContent)).join('');
  }
  set textContent(value: string) {
    this.text = value;
  }
}

interface WebModules {
  visibleText: (value: unknown) => string;
  el: (tag: string, attrs?: Record<string, unknown>, ...children: unknown[]) => FakeNode;
  chainFigure: (claims: Record<string, unknown>, width: number) => FakeNode;
}

// Bidi override, isolate, embedding and mark, zero-width joiner, line separator, Arabic letter mark.
const HOSTILE = ['\u202e', '\u2066', '\u202a', '\u200f', '\u200d', '\u2028', '\u061c'];
const REORDERING = /[\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069]/;

let web: WebModules;
const globals = globalThis as unknown as Record<string, unknown>;

beforeAll(async () => {
  globals.Node = FakeNode;
  globals.document = { createElement: () => new FakeNode(), createElementNS: () => new FakeNode() };
  const load = (name: string) => import(new URL(`./web/${name}`, import.meta.url).pathname);
  const [jwt, render, chain] = await Promise.all([load('jwt.js'), load('render.js'), load('chain.js')]);
  web = { visibleText: jwt.visibleText, el: render.el, chainFigure: chain.chainFigure };
});

afterAll(() => {
  delete globals.Node;
  delete globals.document;
});

describe('playground page: claims cannot reorder what it shows (Unicode UAX #9)', () => {
  it('visibleText writes each bidi control, zero-width character and separator as its code point', () => {
    expect(web.visibleText('mallory\u202enimda')).toBe('mallory\\u202enimda');
    for (const c of HOSTILE) expect(web.visibleText(`a${c}b`)).toMatch(/^a\\u[0-9a-f]{4}b$/);
    expect(web.visibleText('alice <script>"é ☃')).toBe('alice <script>"é ☃');
  });

  it('el() shows a hostile value as text with its controls visible', () => {
    const cell = web.el('td', {}, 'mallory\u202enimda', ' (issuer https://idp\u2066.example)');
    expect(cell.textContent).toBe('mallory\\u202enimda (issuer https://idp\\u2066.example)');
  });

  it('the act chain picture, its tooltips and its text alternative carry none of them', () => {
    const claims = {
      sub: '\u202enimda',
      iss: 'https://sts.example',
      act: { sub: `agent${HOSTILE.join('')}`, iss: 'https://ci\u200f.example', attested_by: 'gh\u2069' },
    };
    const figure = web.chainFigure(claims, 600);
    expect(figure.textContent).toContain('\\u202enimda');
    expect(figure.textContent).not.toMatch(REORDERING);
  });
});
