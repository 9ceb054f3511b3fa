import { describe, expect, it } from '@jest/globals';
import { CanonicalizationRefused } from './exclusive-c14n.js';
import { inclusiveCanonicalXml } from './inclusive-c14n.js';
import { parseStrictXml, type XmlElement } from './saml-xml.js';
import { describeC14nCorpus, lines, W3C, type C14nCase } from '../../test/support/c14n-corpus.js';
import { DSIG, firstElement, SAML, SAMLP, XS, XSI } from '../../test/support/xml-dom.js';

/**
 * Canonical XML 1.0 (https://www.w3.org/TR/xml-c14n), checked two ways on each document of the corpus:
 * against the output written out by hand from the W3C text, and against xml-crypto's
 * C14nCanonicalization on the same document parsed by @xmldom/xmldom, called as SignedXml calls it for
 * a Reference (clone of the node, enveloped Signature removed, the ancestors' namespaces passed in).
 * Where xml-crypto departs from the W3C text, the row says so; the W3C text decides.
 */

// C14N §3.3 (start and end tags, namespaces), without its DTD (actbridge refuses DTDs), so e9 has no
// defaulted attribute; the rest is the W3C output. Unlike the exclusive form, e6 keeps xmlns:a, which
// is in scope though unused, and e9 renders its rebinding of a.
const C14N_3_3_OUT = lines(
  W3C.c14n33OutE1ToE5,
  '   <e6 xmlns:a="http://www.w3.org">',
  '      <e7 xmlns="http://www.ietf.org">',
  '         <e8 xmlns="">',
  '            <e9 xmlns:a="http://www.ietf.org"></e9>',
  '         </e8>',
  '      </e7>',
  '   </e6>',
  '</doc>',
);

const RESPONSE =
  `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" xmlns:xs="${XS}" xmlns:xsi="${XSI}" ID="_r">` +
  `<saml:Assertion ID="_a"><saml:Issuer>idp</saml:Issuer><ds:Signature xmlns:ds="${DSIG}"><ds:SignedInfo/></ds:Signature>` +
  `<saml:Subject><saml:NameID>alice&#13;@corp.example</saml:NameID></saml:Subject>` +
  `<saml:AttributeStatement><saml:Attribute Name="g"><saml:AttributeValue xsi:type="xs:string">a &amp; b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
  `</saml:Assertion></samlp:Response>`;

const CORPUS: readonly C14nCase[] = [
  { name: 'C14N §3.3: start and end tags, namespace declarations', xml: W3C.c14n33In, expected: C14N_3_3_OUT },
  { name: 'C14N §3.4: character modifications and references', xml: W3C.c14n34In, expected: W3C.c14n34Out },
  {
    name: 'the apex renders every namespace in scope, its ancestors’ included, default first',
    xml: '<r xmlns:q="urn:q" xmlns="urn:d" xmlns:p="urn:p"><p:x><y/></p:x></r>',
    apex: 'x',
    expected: '<p:x xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q"><y></y></p:x>',
  },
  {
    name: 'an apex in its ancestor’s default namespace renders it',
    xml: '<r xmlns="urn:d"><a><b/></a></r>',
    apex: 'a',
    expected: '<a xmlns="urn:d"><b></b></a>',
  },
  {
    name: 'an apex that undeclares its ancestor’s default namespace renders no xmlns=""',
    xml: '<r xmlns="urn:d"><a xmlns=""><b/></a></r>',
    apex: 'a',
    expected: '<a><b></b></a>',
  },
  {
    name: 'a descendant undeclaring the default namespace renders xmlns=""',
    xml: '<r xmlns="urn:d"><a><b xmlns=""><c/></b></a></r>',
    apex: 'a',
    expected: '<a xmlns="urn:d"><b xmlns=""><c></c></b></a>',
  },
  {
    name: 'a redundant redeclaration is dropped, a rebinding kept',
    xml: '<a xmlns:p="urn:p"><b xmlns:p="urn:p"/><c xmlns:p="urn:p2"/></a>',
    expected: '<a xmlns:p="urn:p"><b></b><c xmlns:p="urn:p2"></c></a>',
  },
  {
    name: 'unused declarations are kept (unlike the exclusive form)',
    xml: '<a xmlns:u="urn:u"><b xmlns:v="urn:v"/></a>',
    expected: '<a xmlns:u="urn:u"><b xmlns:v="urn:v"></b></a>',
  },
  {
    name: 'attributes by namespace URI then local name, unqualified first',
    xml: '<x b="2" a="1" xmlns:z="urn:a" z:c="3" xmlns:y="urn:b" y:c="4"/>',
    expected: '<x xmlns:y="urn:b" xmlns:z="urn:a" a="1" b="2" z:c="3" y:c="4"></x>',
  },
  {
    name: 'an xml:lang on the apex itself is an ordinary attribute',
    xml: '<r><a xml:lang="en">t</a></r>',
    apex: 'a',
    expected: '<a xml:lang="en">t</a>',
  },
  {
    name: 'an Assertion inside a Response, its Signature excluded: the Response’s namespaces on the apex, a CR kept',
    xml: RESPONSE,
    apex: 'Assertion',
    exclude: 'Signature',
    expected:
      `<saml:Assertion xmlns:saml="${SAML}" xmlns:samlp="${SAMLP}" xmlns:xs="${XS}" xmlns:xsi="${XSI}" ID="_a"><saml:Issuer>idp</saml:Issuer>` +
      `<saml:Subject><saml:NameID>alice&#xD;@corp.example</saml:NameID></saml:Subject>` +
      `<saml:AttributeStatement><saml:Attribute Name="g"><saml:AttributeValue xsi:type="xs:string">a &amp; b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
      `</saml:Assertion>`,
  },
  {
    name: 'SignedInfo inside an Assertion inside a Response: every ancestor’s namespace',
    xml: RESPONSE,
    apex: 'SignedInfo',
    expected: `<ds:SignedInfo xmlns:ds="${DSIG}" xmlns:saml="${SAML}" xmlns:samlp="${SAMLP}" xmlns:xs="${XS}" xmlns:xsi="${XSI}"></ds:SignedInfo>`,
  },
  {
    name: 'the excluded subtree leaves the text around it',
    xml: `<a xmlns:ds="${DSIG}">\n  <b/>\n  <ds:Signature><ds:x/></ds:Signature>\n</a>`,
    exclude: 'Signature',
    expected: `<a xmlns:ds="${DSIG}">\n  <b></b>\n  \n</a>`,
  },
  {
    name: 'a comment or processing instruction outside the subtree does not matter',
    xml: '<r><!-- outside --><?pi outside?><a>x</a></r>',
    apex: 'a',
    expected: '<a>x</a>',
  },
  {
    name: 'the xml prefix declared explicitly is never rendered',
    xml: '<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en"/>',
    expected: '<a xml:lang="en"></a>',
    xmlCrypto: {
      deviation: 'renders the declaration of the xml prefix like any other',
      output: '<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en"></a>',
    },
  },
];

describeC14nCorpus(
  'inclusiveCanonicalXml',
  CORPUS,
  (apex, exclude) => inclusiveCanonicalXml(apex, exclude ? { exclude } : {}),
  true,
);

describe('inclusiveCanonicalXml: refusals', () => {
  it.each([
    ['a comment', '<a>x<!-- c -->y</a>', 'signed content must not contain XML comments'],
    ['a processing instruction', '<a><?pi data?></a>', 'signed content must not contain processing instructions'],
  ])('throws on %s inside the subtree', (_name, xml, message) => {
    expect(() => inclusiveCanonicalXml(parseStrictXml(xml).documentElement)).toThrow(message);
  });

  it.each([
    ['xml:lang on the parent', '<r xml:lang="en"><a/></r>'],
    ['xml:space on a grandparent', '<g xml:space="preserve"><r><a/></r></g>'],
  ])('refuses an apex whose ancestors carry xml: attributes (%s), which C14N 1.0 would import', (_name, xml) => {
    const apex = firstElement<XmlElement>(parseStrictXml(xml).documentElement, 'a');
    expect(() => inclusiveCanonicalXml(apex)).toThrow(CanonicalizationRefused);
  });
});
