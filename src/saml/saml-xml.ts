import { createRequire } from 'node:module';

/**
 * The slice of the DOM that SAML processing reads. @xmldom/xmldom is loaded without its type
 * declarations on purpose: they pull TypeScript's whole `dom` lib into the program, whose `fetch` and
 * stream types then clash with Node's for every other file.
 */
export interface XmlNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly namespaceURI: string | null;
  readonly localName: string | null;
  readonly firstChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
  readonly textContent: string | null;
}
export interface XmlElement extends XmlNode {
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  getElementsByTagNameNS(namespace: string, localName: string): ArrayLike<XmlElement>;
}
export interface XmlDocument extends XmlNode {
  readonly documentElement: XmlElement | null;
  getElementsByTagNameNS(namespace: string, localName: string): ArrayLike<XmlElement>;
}
interface XmlDomModule {
  DOMParser: new (options: {
    locator: object;
    errorHandler: Record<'warning' | 'error' | 'fatalError', (message: string) => void>;
  }) => { parseFromString(source: string, mimeType: string): XmlDocument | undefined };
}
const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as XmlDomModule;

/** SAML 2.0 and XML Signature namespaces (SAML Core §1.2, XMLDSig §4). */
export const NS = {
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  saml1Assertion: 'urn:oasis:names:tc:SAML:1.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

const ELEMENT_NODE = 1;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const DOCUMENT_TYPE_NODE = 10;

export class XmlRejected extends Error {
  override readonly name = 'XmlRejected';
}

/**
 * Parses XML strictly. A DOCTYPE or entity declaration is refused before any parsing (no DTD, no entity
 * expansion, no XXE); every parser warning is an error (xmldom otherwise recovers silently from
 * malformed input, and two parsers disagreeing about a document is how signature wrapping starts).
 */
export function parseStrictXml(text: string): XmlDocument & { readonly documentElement: XmlElement } {
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlRejected('must not contain a DOCTYPE or entity declarations');
  }
  // xmldom reports through callbacks and may wrap what they throw: remember the first problem.
  let problem: string | undefined;
  const report = (message: string): never => {
    problem ??= message
      .replace(/^\[xmldom \w+\]\s*/, '')
      .split('\n')[0]!
      .slice(0, 200);
    throw new XmlRejected(problem);
  };
  let doc: XmlDocument | undefined;
  try {
    doc = new DOMParser({
      locator: {},
      errorHandler: { warning: report, error: report, fatalError: report },
    }).parseFromString(text, 'text/xml');
  } catch (error) {
    problem ??= (error as Error).message;
  }
  if (problem !== undefined || !doc?.documentElement) {
    throw new XmlRejected(`is not well-formed XML (${problem ?? 'no root element'})`);
  }
  for (let node = doc.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === DOCUMENT_TYPE_NODE)
      throw new XmlRejected('must not contain a DOCTYPE or entity declarations');
  }
  return doc as XmlDocument & { readonly documentElement: XmlElement };
}

/**
 * True if the document holds a comment, or a processing instruction other than the XML declaration.
 * Exclusive canonicalization drops comments, so a comment can be slipped into signed text without
 * breaking the signature (the NameID truncation attack, CVE-2017-11427 and siblings); none has any
 * meaning in an assertion, so any is refused.
 */
export function hasCommentOrProcessingInstruction(doc: XmlDocument): boolean {
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

/** Every element below `root` (inclusive) with the given namespace and local name. */
export function descendants(root: XmlElement | XmlDocument, ns: string, localName: string): XmlElement[] {
  return Array.from(root.getElementsByTagNameNS(ns, localName));
}

/** An attribute's value, undefined when absent (xmldom returns '' for a missing attribute). */
export function attr(el: XmlElement, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name)! : undefined;
}

/** The element's text: all of its text and CDATA, concatenated (DOM textContent). */
export function text(el: XmlElement): string {
  return el.textContent ?? '';
}
