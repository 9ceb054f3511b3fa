import { COMMENT_NODE, ELEMENT_NODE, TEXT_NODE, type XmlElement, type XmlNode, type XmlText } from './saml-xml.js';

/** `http://www.w3.org/2001/10/xml-exc-c14n#`: Exclusive XML Canonicalization 1.0, without comments. */
export const EXCLUSIVE_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

export interface ExclusiveC14nOptions {
  /** A descendant subtree left out of the output: the enveloped-signature transform (XMLDSig §6.6.4). */
  readonly exclude?: XmlElement;
  /**
   * The InclusiveNamespaces PrefixList (Exc-C14N §3): prefixes rendered as by inclusive canonicalization,
   * wherever they are in scope ('#default' is the default namespace).
   */
  readonly inclusiveNamespacePrefixes?: readonly string[];
  /** Receives the canonical form in chunks, as it is produced, instead of it being returned (a digest). */
  readonly write?: (chunk: string) => void;
}

export class CanonicalizationRefused extends Error {
  override readonly name = 'CanonicalizationRefused';
}

/**
 * Namespace bindings as one stack per prefix, pushed when a walk enters an element and popped when it
 * leaves: a lookup costs one map access whatever the depth or the number of bindings, so no document
 * makes canonicalization more than linear in its size (copying a scope per element would be quadratic).
 */
export class NamespaceStack {
  private readonly stacks = new Map<string, string[]>();

  get(prefix: string): string | undefined {
    const stack = this.stacks.get(prefix);
    return stack && stack.length > 0 ? stack[stack.length - 1] : undefined;
  }

  push(prefix: string, uri: string): void {
    const stack = this.stacks.get(prefix);
    if (stack) stack.push(uri);
    else this.stacks.set(prefix, [uri]);
  }

  pop(prefix: string): void {
    this.stacks.get(prefix)!.pop();
  }

  /** Every bound prefix with its innermost binding. */
  *bindings(): IterableIterator<[string, string]> {
    for (const [prefix, stack] of this.stacks) if (stack.length > 0) yield [prefix, stack[stack.length - 1]!];
  }

  /** The bindings in scope at `element`'s parent: every ancestor's declarations, outermost first. */
  static ofAncestors(element: XmlElement): NamespaceStack {
    const ancestors: XmlElement[] = [];
    for (let node = element.parentNode; node && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
      ancestors.push(node as XmlElement);
    }
    const scope = new NamespaceStack();
    for (let i = ancestors.length - 1; i >= 0; i--) {
      for (const [prefix, uri] of ancestors[i]!.namespaceDeclarations) scope.push(prefix, uri);
    }
    return scope;
  }
}

/**
 * The canonical form of `element`'s subtree (https://www.w3.org/TR/xml-exc-c14n/, without comments): the
 * octets a Reference digest or a SignedInfo signature covers. A namespace declaration is rendered on the
 * first output element that visibly uses its prefix (or lists it as inclusive), unless an output
 * ancestor already rendered the same binding; declarations first (by prefix), then attributes (by
 * namespace URI, then local name); text and attribute values escaped as C14N §2.3 says. Comments and
 * processing instructions are refused outright: nothing in a signed SAML message needs them, and the
 * "without comments" form would otherwise let a comment split signed text unnoticed.
 */
export function exclusiveCanonicalXml(element: XmlElement, options: ExclusiveC14nOptions = {}): string {
  const inclusive = new Set((options.inclusiveNamespacePrefixes ?? []).map((p) => (p === '#default' ? '' : p)));
  const walk = {
    scope: NamespaceStack.ofAncestors(element),
    rendered: new NamespaceStack(),
    inclusive,
    exclude: options.exclude,
    out: new Output(options.write),
  };
  renderElement(element, true, walk);
  return walk.out.end();
}

/**
 * The canonical text as it is built: pieces appended to a string (V8 joins them lazily), handed to the
 * writer, if any, every few kB. Pushing the pieces into an array for one `join` costs time quadratic in
 * their number in V8 past some tens of thousands, and flattening one long chain of appended pieces is
 * several times slower than a few short ones: an input of many small elements reaches both.
 */
export class Output {
  private text = '';
  constructor(private readonly write?: (chunk: string) => void) {}

  append(piece: string): void {
    this.text += piece;
    if (this.write && this.text.length >= 4096) {
      this.write(this.text);
      this.text = '';
    }
  }

  /** The canonical form, or '' when it went to the writer. */
  end(): string {
    if (!this.write) return this.text;
    if (this.text.length > 0) this.write(this.text);
    this.text = '';
    return '';
  }
}

interface ExclusiveWalk {
  /** The document's bindings in scope at the element being rendered. */
  readonly scope: NamespaceStack;
  /** The bindings output ancestors rendered. */
  readonly rendered: NamespaceStack;
  readonly inclusive: ReadonlySet<string>;
  readonly exclude: XmlElement | undefined;
  readonly out: Output;
}

function renderElement(element: XmlElement, apex: boolean, walk: ExclusiveWalk): void {
  const { scope, rendered, inclusive, out } = walk;
  const declared = element.namespaceDeclarations;
  if (declared.size > 0) for (const [prefix, uri] of declared) scope.push(prefix, uri);

  // Prefixes visibly utilized (Exc-C14N §3): the element's own, and those of its qualified attributes.
  // An inclusive prefix's binding can only change where it is declared, so below the apex only the
  // element's own declarations of inclusive prefixes need a look.
  let declarations = declaration(undefined, element.prefix, walk);
  for (const attribute of element.attributes) {
    if (attribute.prefix !== '') declarations = declaration(declarations, attribute.prefix, walk);
  }
  if (apex) for (const prefix of inclusive) declarations = declaration(declarations, prefix, walk);
  else if (inclusive.size > 0 && declared.size > 0) {
    for (const prefix of declared.keys())
      if (inclusive.has(prefix)) declarations = declaration(declarations, prefix, walk);
  }
  if (declarations && declarations.length > 1) declarations.sort(([a], [b]) => compareCodePoints(a, b));

  renderCanonicalElement(element, declarations, walk.exclude, out, renderChild, walk);

  if (declarations) for (const [prefix] of declarations) rendered.pop(prefix);
  if (declared.size > 0) for (const prefix of declared.keys()) scope.pop(prefix);
}

function renderChild(child: XmlElement, walk: ExclusiveWalk): void {
  renderElement(child, false, walk);
}

/**
 * Adds `prefix`'s declaration to `declarations` if this element must render it: bound here, and not
 * already rendered with that binding by an output ancestor (or by this element: it is recorded as
 * rendered at once, so a prefix used twice is declared once).
 */
function declaration(
  declarations: [string, string][] | undefined,
  prefix: string,
  { scope, rendered }: ExclusiveWalk,
): [string, string][] | undefined {
  if (prefix === 'xml') return declarations;
  const uri = scope.get(prefix) ?? (prefix === '' ? '' : undefined);
  // An inclusive prefix out of scope here renders nothing (only utilized prefixes are always bound).
  if (uri === undefined) return declarations;
  const inEffect = rendered.get(prefix);
  if (prefix === '' ? uri === (inEffect ?? '') : uri === inEffect) return declarations;
  rendered.push(prefix, uri);
  (declarations ??= []).push([prefix, uri]);
  return declarations;
}

/**
 * One element in canonical form, once its form decided which namespace declarations it renders (given
 * in canonical order): start tag with those declarations and the attributes, content (child elements
 * through `child`), end tag.
 */
export function renderCanonicalElement<C>(
  element: XmlElement,
  declarations: readonly (readonly [string, string])[] | undefined,
  exclude: XmlElement | undefined,
  out: Output,
  child: (el: XmlElement, context: C) => void,
  context: C,
): void {
  const qname = element.nodeName;
  out.append(`<${qname}`);
  if (declarations) {
    for (const [prefix, uri] of declarations) {
      out.append(`${prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`}${escapeAttribute(uri)}"`);
    }
  }
  renderAttributes(element, out);
  out.append('>');
  renderContent(element, exclude, out, child, context);
  out.append(`</${qname}>`);
}

/** The element's attributes (namespace declarations excluded), ordered by namespace URI then local name. */
export function renderAttributes(element: XmlElement, out: Output): void {
  const attributes =
    element.attributes.length > 1 ? [...element.attributes].sort(byNamespaceThenLocalName) : element.attributes;
  for (const attribute of attributes) out.append(` ${attribute.name}="${escapeAttribute(attribute.value)}"`);
}

/** Text escaped, child elements (but `exclude`) through `element`; comments and PIs refused. */
export function renderContent<C>(
  parent: XmlElement,
  exclude: XmlElement | undefined,
  out: Output,
  element: (child: XmlElement, context: C) => void,
  context: C,
): void {
  for (let node: XmlNode | null = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === TEXT_NODE) out.append(escapeText((node as XmlText).data));
    else if (node.nodeType === ELEMENT_NODE) {
      if (node !== exclude) element(node as XmlElement, context);
    } else if (node.nodeType === COMMENT_NODE) {
      throw new CanonicalizationRefused('signed content must not contain XML comments');
    } else {
      throw new CanonicalizationRefused('signed content must not contain processing instructions');
    }
  }
}

function byNamespaceThenLocalName(
  a: { namespaceURI: string; localName: string },
  b: { namespaceURI: string; localName: string },
): number {
  return compareCodePoints(a.namespaceURI, b.namespaceURI) || compareCodePoints(a.localName, b.localName);
}

/**
 * C14N §2.2 orders by UCS code point (= UTF-8 byte order), not by UTF-16 code unit as JavaScript's `<`
 * does: the two differ when a character above U+FFFF meets one in U+E000-U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit re-ranked so that surrogates (code points above U+FFFF) sort after U+FFFF. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

// Separate test patterns: a /g pattern's test() keeps state (lastIndex) between calls.
const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_SPECIALS = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/;
const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/g;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

/** C14N §2.3: text nodes escape & < > and carriage return. */
function escapeText(text: string): string {
  return TEXT_SPECIAL.test(text) ? text.replace(TEXT_SPECIALS, (c) => ESCAPES[c]!) : text;
}

/** C14N §2.3: attribute values escape & < " and the whitespace characters tab, line feed, carriage return. */
export function escapeAttribute(value: string): string {
  return ATTRIBUTE_SPECIAL.test(value) ? value.replace(ATTRIBUTE_SPECIALS, (c) => ESCAPES[c]!) : value;
}
