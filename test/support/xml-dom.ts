import { createRequire } from 'node:module';

/**
 * The reference implementations the SAML specs compare actbridge with: @xmldom/xmldom, xml-crypto and
 * node-saml, loaded without their type declarations (they pull TypeScript's `dom` lib into the program,
 * see src/saml/saml-xml.ts); the slice the specs use is typed here.
 */
export interface DomNode {
  readonly nodeType: number;
  readonly localName: string | null;
  readonly namespaceURI: string | null;
  readonly firstChild: DomNode | null;
  readonly nextSibling: DomNode | null;
  readonly parentNode: DomNode | null;
  readonly childNodes: ArrayLike<DomNode>;
  readonly textContent: string | null;
  getAttribute?(name: string): string | null;
  cloneNode(deep: boolean): DomNode;
  removeChild(child: DomNode): DomNode;
}
export interface DomDocument extends DomNode {
  readonly documentElement: DomNode;
}
export interface SignedXmlInstance {
  SignatureAlgorithms: Record<string, unknown>;
  HashAlgorithms: Record<string, unknown>;
  publicCert?: string;
  addReference(reference: Record<string, unknown>): void;
  computeSignature(xml: string, options: Record<string, unknown>): void;
  getSignedXml(): string;
  getSignatureXml(): string;
  loadSignature(signature: DomNode): void;
  checkSignature(xml: string): boolean;
}
type Canonicalizer = new () => { process(node: DomNode, options: Record<string, unknown>): string };

const require = createRequire(import.meta.url);
const { DOMParser } = require('@xmldom/xmldom') as {
  DOMParser: new (options?: { errorHandler: (level: string, message: string) => void }) => {
    parseFromString(xml: string, mimeType: string): DomDocument;
  };
};
export const xmlCrypto = require('xml-crypto') as {
  SignedXml: new (options?: Record<string, unknown>) => SignedXmlInstance;
  ExclusiveCanonicalization: Canonicalizer;
  C14nCanonicalization: Canonicalizer;
};
const xmlCryptoUtils = require('xml-crypto/lib/utils') as {
  findAncestorNsForElement(node: DomNode): { prefix: string; namespaceURI: string }[];
};
export const nodeSaml = require('@node-saml/node-saml/lib/xml.js') as {
  getVerifiedXml(xml: string, signed: DomNode, certificates: string[]): string | null;
};

export const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
export const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const XS = 'http://www.w3.org/2001/XMLSchema';
export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/**
 * xmldom's parse. `strict`: an error or a warning throws; `warnings`: a warning passes; `defaults`:
 * xmldom's own handler, as node-saml parses (only a fatal error throws).
 */
export function parseDom(xml: string, handling: 'strict' | 'warnings' | 'defaults' = 'strict'): DomDocument {
  const errorHandler = (level: string, message: string) => {
    if (level !== 'warning' || handling === 'strict') throw new Error(message);
  };
  return new DOMParser(handling === 'defaults' ? undefined : { errorHandler }).parseFromString(xml, 'text/xml');
}

interface Walkable {
  readonly nodeType: number;
  readonly localName: string | null;
  readonly firstChild: Walkable | null;
  readonly nextSibling: Walkable | null;
}

/** The first element named `localName` at or below `from`, in document order (works on both DOMs). */
export function firstElement<T extends Walkable>(from: T, localName: string): T {
  const stack: Walkable[] = [from];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === 1 && node.localName === localName) return node as T;
    const children: Walkable[] = [];
    for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
    stack.push(...children.reverse());
  }
  throw new Error(`no element ${localName}`);
}

/**
 * xml-crypto's canonical form of `node`, obtained as SignedXml computes a Reference's (signed-xml.js,
 * canonicalize): a clone, with `exclude` (the enveloped Signature, when inside `node`) removed from it by
 * its position, the ancestors' namespaces passed in; exclusive c14n unless `inclusive`.
 */
export function xmlCryptoC14n(
  node: DomNode,
  o: { exclude?: DomNode; prefixes?: readonly string[]; inclusive?: boolean } = {},
): string {
  const clone = node.cloneNode(true);
  if (o.exclude && o.exclude !== node) {
    const path: number[] = [];
    let inside = false;
    for (let n: DomNode = o.exclude; n.parentNode; n = n.parentNode) {
      path.unshift(Array.from(n.parentNode.childNodes).indexOf(n));
      if (n.parentNode === node) {
        inside = true;
        break;
      }
    }
    if (inside) {
      const excluded = path.reduce((n, i) => n.childNodes[i]!, clone);
      excluded.parentNode!.removeChild(excluded);
    }
  }
  const canonicalizer = o.inclusive ? new xmlCrypto.C14nCanonicalization() : new xmlCrypto.ExclusiveCanonicalization();
  return canonicalizer.process(clone, {
    inclusiveNamespacesPrefixList: [...(o.prefixes ?? [])],
    ancestorNamespaces: xmlCryptoUtils.findAncestorNsForElement(node),
    defaultNsForPrefix: { ds: DSIG },
  });
}
