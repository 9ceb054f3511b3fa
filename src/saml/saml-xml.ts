import { readXml, XmlSyntaxError } from './xml-reader.js';

/**
 * A small, read-only DOM built from xml-reader.ts's events (a strict XML 1.0 reader; namespaces are
 * resolved here, see namespacedElement): the slice that SAML processing and exclusive canonicalization read. One parse per presented document serves the
 * structural checks, the signature verification and the reading of the verified assertion, so what is
 * verified and what is read are the same nodes (no second parser that could see a different document).
 */
export interface XmlNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly namespaceURI: string | null;
  readonly localName: string | null;
  readonly parentNode: XmlNode | null;
  readonly firstChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
  readonly textContent: string | null;
}
export interface XmlAttribute {
  /** The qualified name as written (`prefix:local` or `local`). */
  readonly name: string;
  readonly prefix: string;
  readonly localName: string;
  /** '' for an unprefixed attribute (attributes never take the default namespace). */
  readonly namespaceURI: string;
  readonly value: string;
}
export interface XmlElement extends XmlNode {
  readonly prefix: string;
  /** The element's own attributes, namespace declarations excluded (see namespaceDeclarations). */
  readonly attributes: readonly XmlAttribute[];
  /** The namespace declarations written on this element: prefix ('' for the default) → URI. */
  readonly namespaceDeclarations: ReadonlyMap<string, string>;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  /** Descendant elements (the element itself excluded, as in the DOM), in document order. */
  getElementsByTagNameNS(namespace: string, localName: string): ArrayLike<XmlElement>;
  /** The namespace URI `prefix` is bound to here ('' for the default namespace when undeclared). */
  lookupNamespaceURI(prefix: string): string | undefined;
}
export interface XmlDocument extends XmlNode {
  readonly documentElement: XmlElement | null;
  getElementsByTagNameNS(namespace: string, localName: string): ArrayLike<XmlElement>;
}
export interface XmlText extends XmlNode {
  /** Character data, with line endings normalised and references expanded (CDATA sections included). */
  readonly data: string;
}

/** SAML 2.0 and XML Signature namespaces (SAML Core §1.2, XMLDSig §4). */
export const NS = {
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  saml1Assertion: 'urn:oasis:names:tc:SAML:1.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const PROCESSING_INSTRUCTION_NODE = 7;
export const COMMENT_NODE = 8;
const DOCUMENT_NODE = 9;
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** As SamlRejected: `message` is what the caller is told, `detail` (audit only) names what the document held. */
export class XmlRejected extends Error {
  override readonly name = 'XmlRejected';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** A well-formedness error; the name it concerns comes from the document, so the detail alone holds it. */
function malformed(problem: string, name?: string): XmlRejected {
  const detail = name === undefined ? undefined : `is not well-formed XML (${problem}: ${name.slice(0, 100)})`;
  return new XmlRejected(`is not well-formed XML (${problem})`, detail);
}

abstract class TreeNode implements XmlNode {
  abstract readonly nodeType: number;
  abstract readonly nodeName: string;
  parentNode: TreeNode | null = null;
  firstChild: TreeNode | null = null;
  lastChild: TreeNode | null = null;
  nextSibling: TreeNode | null = null;
  get namespaceURI(): string | null {
    return null;
  }
  get localName(): string | null {
    return null;
  }
  get textContent(): string | null {
    return null;
  }
  append(node: TreeNode): void {
    node.parentNode = this;
    if (this.lastChild) this.lastChild.nextSibling = node;
    else this.firstChild = node;
    this.lastChild = node;
  }
}

class TextNode extends TreeNode implements XmlText {
  readonly nodeType = TEXT_NODE;
  readonly nodeName = '#text';
  constructor(public data: string) {
    super();
  }
  override get textContent(): string {
    return this.data;
  }
}

class CommentNode extends TreeNode {
  readonly nodeType = COMMENT_NODE;
  readonly nodeName = '#comment';
  constructor(readonly data: string) {
    super();
  }
}

class ProcessingInstructionNode extends TreeNode {
  readonly nodeType = PROCESSING_INSTRUCTION_NODE;
  constructor(
    readonly target: string,
    readonly data: string,
  ) {
    super();
  }
  get nodeName(): string {
    return this.target;
  }
}

/** Descendant elements of `root` (excluded) matching namespace and local name, in document order. */
function elementsByName(root: TreeNode, namespace: string, localName: string): ElementNode[] {
  const out: ElementNode[] = [];
  const walk = (parent: TreeNode) => {
    for (let node = parent.firstChild; node; node = node.nextSibling) {
      if (node instanceof ElementNode) {
        if (node.localName === localName && node.namespaceURI === namespace) out.push(node);
        walk(node);
      }
    }
  };
  walk(root);
  return out;
}

class ElementNode extends TreeNode implements XmlElement {
  readonly nodeType = ELEMENT_NODE;
  constructor(
    readonly nodeName: string,
    readonly prefix: string,
    private readonly local: string,
    private readonly uri: string,
    readonly attributes: readonly XmlAttribute[],
    readonly namespaceDeclarations: ReadonlyMap<string, string>,
  ) {
    super();
  }
  override get namespaceURI(): string | null {
    return this.uri === '' ? null : this.uri;
  }
  override get localName(): string {
    return this.local;
  }
  override get textContent(): string {
    let out = '';
    const walk = (parent: TreeNode) => {
      for (let node = parent.firstChild; node; node = node.nextSibling) {
        if (node instanceof TextNode) out += node.data;
        else if (node instanceof ElementNode) walk(node);
      }
    };
    walk(this);
    return out;
  }
  getAttribute(name: string): string | null {
    for (const attribute of this.attributes) if (attribute.name === name) return attribute.value;
    return null;
  }
  hasAttribute(name: string): boolean {
    return this.getAttribute(name) !== null;
  }
  getElementsByTagNameNS(namespace: string, localName: string): ElementNode[] {
    return elementsByName(this, namespace, localName);
  }
  lookupNamespaceURI(prefix: string): string | undefined {
    return namespaceIn(this.namespaceDeclarations, this.parentNode, prefix);
  }
}

class DocumentNode extends TreeNode implements XmlDocument {
  readonly nodeType = DOCUMENT_NODE;
  readonly nodeName = '#document';
  documentElement: ElementNode | null = null;
  /** Set by the parser: the document holds a comment, or a processing instruction other than `xml`. */
  commentOrProcessingInstruction = false;
  getElementsByTagNameNS(namespace: string, localName: string): ElementNode[] {
    return elementsByName(this, namespace, localName);
  }
}

/**
 * The URI `prefix` is bound to by `declarations`, else in `parent`'s scope; `xml` is always bound, and
 * the default namespace is '' where nothing declares it.
 */
function namespaceIn(
  declarations: ReadonlyMap<string, string>,
  parent: XmlNode | null,
  prefix: string,
): string | undefined {
  if (prefix === 'xml') return XML_NAMESPACE;
  const uri = declarations.get(prefix);
  if (uri !== undefined) return uri;
  if (parent instanceof ElementNode) return parent.lookupNamespaceURI(prefix);
  return prefix === '' ? '' : undefined;
}

const NO_DECLARATIONS: ReadonlyMap<string, string> = new Map();
/** Shared by every element without attributes (most of them): one allocation fewer per element. */
const NO_ATTRIBUTES: readonly XmlAttribute[] = Object.freeze([]);
/**
 * Deepest element nesting accepted. SAML messages and metadata are about ten levels deep; the tree
 * walks (canonicalization, namespace lookups up the ancestors) recurse, so a hostile deep document is
 * refused here, not by a stack overflow or a time quadratic in depth later.
 */
const MAX_DEPTH = 32;

/**
 * Namespaces in XML 1.0 on one start tag: its declarations, then its name and its attributes' names
 * resolved against them and the parent's scope (a scope object per element would cost more): QNames
 * (one colon, non-empty parts), bound prefixes, no undeclared prefix (XML 1.0), the reserved
 * `xml`/`xmlns` prefixes and namespaces, no two attributes with the same expanded name. Namespace URIs
 * are taken as written.
 */
function namespacedElement(name: string, raw: readonly string[], parent: ElementNode | undefined): ElementNode {
  let declarations = NO_DECLARATIONS;
  let attributeCount = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const attribute = raw[i]!;
    let prefix: string;
    if (attribute === 'xmlns') prefix = '';
    else if (attribute.startsWith('xmlns:')) prefix = qualifiedName(attribute).local;
    else {
      attributeCount++;
      continue;
    }
    const uri = raw[i + 1]!;
    checkDeclaration(prefix, uri);
    if (declarations === NO_DECLARATIONS) declarations = new Map();
    (declarations as Map<string, string>).set(prefix, uri);
  }
  const resolve = (prefix: string): string | undefined => namespaceIn(declarations, parent ?? null, prefix);

  const { prefix, local } = qualifiedName(name);
  if (prefix === 'xmlns') throw new XmlRejected('is not well-formed XML (an element with prefix xmlns)');
  const uri = resolve(prefix);
  if (uri === undefined) throw malformed('unbound prefix', prefix);

  const attributes: XmlAttribute[] = attributeCount > 0 ? [] : (NO_ATTRIBUTES as XmlAttribute[]);
  if (attributeCount > 0) {
    let expandedNames: Set<string> | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const attribute = raw[i]!;
      if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) continue;
      const q = qualifiedName(attribute);
      let namespaceURI = '';
      if (q.prefix !== '') {
        namespaceURI = resolve(q.prefix) ?? '';
        if (namespaceURI === '') throw malformed('unbound prefix', q.prefix);
        // Names in XML §3.1 already keeps `a` from repeating; `p:a` and `q:a` may still be one name.
        expandedNames ??= new Set();
        const expanded = `{${namespaceURI}}${q.local}`;
        if (expandedNames.has(expanded)) {
          throw malformed('duplicate attribute', expanded);
        }
        expandedNames.add(expanded);
      }
      attributes.push({ name: attribute, prefix: q.prefix, localName: q.local, namespaceURI, value: raw[i + 1]! });
    }
  }
  return new ElementNode(name, prefix, local, uri, attributes, declarations);
}

function qualifiedName(name: string): { prefix: string; local: string } {
  const colon = name.indexOf(':');
  if (colon === -1) return { prefix: '', local: name };
  const prefix = name.slice(0, colon);
  const local = name.slice(colon + 1);
  if (prefix === '' || local === '' || local.includes(':')) {
    throw malformed('malformed name', name);
  }
  return { prefix, local };
}

/** Namespaces in XML 1.0 §3 constraints "Reserved Prefixes and Namespace Names" and "No Prefix Undeclaring". */
function checkDeclaration(prefix: string, uri: string): void {
  if (prefix !== '' && uri === '') throw malformed('undeclares a prefix', prefix);
  const problem =
    prefix === 'xmlns'
      ? 'declares the xmlns prefix'
      : prefix === 'xml' && uri !== XML_NAMESPACE
        ? 'binds the xml prefix to another namespace'
        : prefix !== 'xml' && uri === XML_NAMESPACE
          ? 'binds the XML namespace to another prefix'
          : uri === XMLNS_NAMESPACE
            ? 'binds the xmlns namespace'
            : undefined;
  if (problem) throw malformed(problem);
}

/**
 * Parses XML strictly. A DOCTYPE or entity declaration is refused before any parsing (no DTD, no entity
 * expansion, no XXE); any well-formedness or namespace error (unbound prefix, duplicate attribute,
 * undefined entity, text outside the root) is refused, never recovered from: two parsers disagreeing
 * about a document is how signature wrapping starts.
 */
export function parseStrictXml(text: string): XmlDocument & { readonly documentElement: XmlElement } {
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlRejected('must not contain a DOCTYPE or entity declarations');
  }
  const doc = new DocumentNode();
  let current: TreeNode = doc;
  let depth = 0;
  let version: string | undefined;
  try {
    version = readXml(text, {
      openTag(name, attributes) {
        if (++depth > MAX_DEPTH) throw new XmlRejected(`is nested too deeply (more than ${MAX_DEPTH} elements)`);
        const element = namespacedElement(name, attributes, current instanceof ElementNode ? current : undefined);
        current.append(element);
        if (current === doc) doc.documentElement = element;
        current = element;
      },
      closeTag() {
        depth--;
        current = current.parentNode!;
      },
      text(data) {
        // Adjacent character data (text, references, CDATA) is one text node, as after DOM normalisation.
        if (current.lastChild instanceof TextNode) current.lastChild.data += data;
        else current.append(new TextNode(data));
      },
      comment(data) {
        doc.commentOrProcessingInstruction = true;
        current.append(new CommentNode(data));
      },
      processingInstruction(target, body) {
        doc.commentOrProcessingInstruction = true;
        current.append(new ProcessingInstructionNode(target, body));
      },
    });
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw malformed(error.message, error.offending);
    throw error;
  }
  // Exclusive c14n is defined for XML 1.0 only; XML 1.1 also changes line-end normalisation.
  if (version !== undefined && version !== '1.0') throw new XmlRejected('must be XML version 1.0');
  if (!doc.documentElement) throw new XmlRejected('is not well-formed XML (no root element)');
  return doc as DocumentNode & { readonly documentElement: ElementNode };
}

/**
 * True if the document holds a comment, or a processing instruction other than the XML declaration.
 * Exclusive canonicalization drops comments, so a comment can be slipped into signed text without
 * breaking the signature (the NameID truncation attack, CVE-2017-11427 and siblings); none has any
 * meaning in an assertion, so any is refused.
 */
export function hasCommentOrProcessingInstruction(doc: XmlDocument): boolean {
  // Recorded while parsing: one walk fewer over every node of a (possibly huge) document.
  if (doc instanceof DocumentNode) return doc.commentOrProcessingInstruction;
  const stack: XmlNode[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === COMMENT_NODE) return true;
    if (
      node.nodeType === PROCESSING_INSTRUCTION_NODE &&
      (node as XmlNode & { target: string }).target.toLowerCase() !== 'xml'
    ) {
      return true;
    }
    for (let child = node.firstChild; child; child = child.nextSibling) stack.push(child);
  }
  return false;
}

/** Element children of `parent` with the given namespace and local name (direct children only). */
export function children(parent: XmlNode, ns: string, localName: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let child = parent.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === ELEMENT_NODE) {
      const el = child as XmlElement;
      if (el.namespaceURI === ns && el.localName === localName) out.push(el);
    }
  }
  return out;
}

/** The single child element, undefined when absent; throws XmlRejected when repeated. */
export function child(parent: XmlNode, ns: string, localName: string): XmlElement | undefined {
  const found = children(parent, ns, localName);
  if (found.length > 1) throw new XmlRejected(`has more than one ${localName} element`);
  return found[0];
}

/** Every element below `root` (itself excluded) with the given namespace and local name. */
export function descendants(root: XmlElement | XmlDocument, ns: string, localName: string): XmlElement[] {
  return Array.from(root.getElementsByTagNameNS(ns, localName));
}

/** An attribute's value (by qualified name), undefined when absent. */
export function attr(el: XmlElement, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name)! : undefined;
}

/** The element's text: all of its text and CDATA, concatenated (DOM textContent). */
export function text(el: XmlElement): string {
  return el.textContent ?? '';
}
