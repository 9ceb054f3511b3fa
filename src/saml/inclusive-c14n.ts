import {
  CanonicalizationRefused,
  compareCodePoints,
  NamespaceStack,
  Output,
  renderCanonicalElement,
} from './exclusive-c14n.js';
import { ELEMENT_NODE, type XmlElement } from './saml-xml.js';

/** `http://www.w3.org/TR/2001/REC-xml-c14n-20010315`: Canonical XML 1.0, without comments. */
export const INCLUSIVE_C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';

/**
 * The canonical form of `element`'s subtree by Canonical XML 1.0 (https://www.w3.org/TR/xml-c14n,
 * without comments), on the same tree the caller reads, with `exclude` left out (the enveloped-signature
 * transform). It differs from the exclusive form in namespaces only: the apex renders every namespace in
 * scope (C14N §2.3: its ancestors are not in the node-set), and each element below it the declarations
 * whose binding differs from its parent's (an `xmlns=""` where the default namespace is undone).
 *
 * C14N 1.0 §2.4 also imports the `xml:` attributes of the apex's ancestors into the apex; xml-crypto
 * does not, and no SAML message needs them, so an apex whose ancestors carry one is refused rather
 * than canonicalized one way or the other. Comments and processing instructions are refused as in
 * the exclusive form.
 */
export function inclusiveCanonicalXml(
  element: XmlElement,
  options: { readonly exclude?: XmlElement; readonly write?: (chunk: string) => void } = {},
): string {
  for (let node = element.parentNode; node && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
    if ((node as XmlElement).attributes.some((attribute) => attribute.prefix === 'xml')) {
      throw new CanonicalizationRefused(
        'inclusive canonicalization of an element whose ancestors carry xml: attributes is not supported',
      );
    }
  }
  const out = new Output(options.write);
  const scope = NamespaceStack.ofAncestors(element);
  const render = (el: XmlElement, apex: boolean): void => {
    const declared = el.namespaceDeclarations;
    const declarations: [string, string][] = [];
    if (apex) {
      for (const [prefix, uri] of declared) scope.push(prefix, uri);
      for (const [prefix, uri] of scope.bindings()) {
        if (prefix !== 'xml' && !(prefix === '' && uri === '')) declarations.push([prefix, uri]);
      }
    } else if (declared.size > 0) {
      for (const [prefix, uri] of declared) {
        const inParent = scope.get(prefix) ?? (prefix === '' ? '' : undefined);
        if (prefix !== 'xml' && uri !== inParent) declarations.push([prefix, uri]);
      }
      for (const [prefix, uri] of declared) scope.push(prefix, uri);
    }
    if (declarations.length > 1) declarations.sort(([a], [b]) => compareCodePoints(a, b));

    renderCanonicalElement(el, declarations, options.exclude, out, render, false);
    if (declared.size > 0) for (const prefix of declared.keys()) scope.pop(prefix);
  };
  render(element, true);
  return out.end();
}
