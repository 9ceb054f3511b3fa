import { describe, expect, it } from '@jest/globals';
import { exclusiveCanonicalXml } from './exclusive-c14n.js';
import { parseStrictXml, XmlRejected } from './saml-xml.js';
import { describeC14nCorpus, lines, W3C, type C14nCase } from '../../test/support/c14n-corpus.js';
import { DSIG, SAML, SAMLP, XS, XSI } from '../../test/support/xml-dom.js';

/**
 * Exclusive XML Canonicalization 1.0 (https://www.w3.org/TR/xml-exc-c14n/, RFC 3741), checked two ways
 * on each document of the corpus: against the output written out by hand from the W3C text, and
 * against xml-crypto's ExclusiveCanonicalization on the same document parsed by @xmldom/xmldom, called
 * as SignedXml calls it for a Reference (clone of the node, enveloped Signature removed, the ancestors'
 * namespaces passed for the InclusiveNamespaces prefixes). Where xml-crypto departs from the W3C text,
 * the row says so and keeps xml-crypto's output for the record; the W3C text decides.
 */

// Exc-C14N §2.2 (RFC 3741 §2.2): the same n1:elem2 subtree in two contexts canonicalizes identically;
// ancestors' namespaces it does not use and their xml:lang / xml:space are not imported.
const ELEM2_OUT = lines(
  '<n1:elem2 xmlns:n1="http://example.net" xml:lang="en">',
  '       <n3:stuff xmlns:n3="ftp://example.org"></n3:stuff>',
  '   </n1:elem2>',
);
const ELEM2_IN = lines(
  '<n1:elem2 xmlns:n1="http://example.net" xml:lang="en">',
  '       <n3:stuff xmlns:n3="ftp://example.org"/>',
  '   </n1:elem2>',
);

// C14N §3.3: the exclusive form drops the declarations the elements do not use.
const C14N_3_3_OUT = lines(
  W3C.c14n33OutE1ToE5,
  '   <e6>',
  '      <e7 xmlns="http://www.ietf.org">',
  '         <e8 xmlns="">',
  '            <e9></e9>',
  '         </e8>',
  '      </e7>',
  '   </e6>',
  '</doc>',
);

// C14N §3.2: whitespace in content is kept as it is.
const C14N_3_2 = lines(
  '<doc>',
  '   <clean>   </clean>',
  '   <dirty>   A   B   </dirty>',
  '   <mixed>',
  '      A',
  '      <clean>   </clean>',
  '      B',
  '      <dirty>   A   B   </dirty>',
  '      C',
  '   </mixed>',
  '</doc>',
);

// A Response whose Assertion declares nothing itself: everything it uses is declared on the Response.
const RESPONSE = `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" xmlns:xs="${XS}" xmlns:xsi="${XSI}" xmlns:ds="${DSIG}" ID="_r"><saml:Issuer>idp</saml:Issuer><saml:Assertion ID="_a"><saml:Issuer>idp</saml:Issuer><ds:Signature><ds:SignedInfo/></ds:Signature><saml:AttributeStatement><saml:Attribute Name="g"><saml:AttributeValue xsi:type="xs:string">a &amp; b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>`;
const ASSERTION_BODY = `<saml:Issuer>idp</saml:Issuer><saml:AttributeStatement><saml:Attribute Name="g"><saml:AttributeValue xsi:type="xs:string">a &amp; b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`;

const CORPUS: readonly C14nCase[] = [
  // The W3C examples.
  {
    name: 'Exc-C14N §2.2, first context: n0:local declares n3, which n3:stuff redeclares',
    xml: `<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org">\n   ${ELEM2_IN}\n</n0:local>`,
    apex: 'elem2',
    expected: ELEM2_OUT,
  },
  {
    name: "Exc-C14N §2.2, second context: the ancestor's xml:lang, xml:space and n1 binding are not imported",
    xml: `<n2:pdu xmlns:n1="http://example.com" xmlns:n2="http://foo.example" xml:lang="fr" xml:space="retain">\n\n   ${ELEM2_IN}\n</n2:pdu>`,
    apex: 'elem2',
    expected: ELEM2_OUT,
  },
  { name: 'C14N §3.2: whitespace in content is kept', xml: C14N_3_2, expected: C14N_3_2 },
  {
    name: 'C14N §3.3: tags normalized, attributes sorted, unused and undeclared namespaces dropped',
    xml: W3C.c14n33In,
    expected: C14N_3_3_OUT,
  },
  {
    name: 'C14N §3.4: character references resolved, CDATA replaced, text and attribute escapes',
    xml: W3C.c14n34In,
    expected: W3C.c14n34Out,
  },
  { name: 'C14N §3.6: UTF-8 output for a character reference', xml: '<doc>&#169;</doc>', expected: '<doc>©</doc>' },

  // Namespace declarations.
  {
    name: 'namespaces declared on the root, used deep down, rendered where first used in the subtree',
    xml: '<r xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:d"><a:x><b:y a:attr="1"><z/></b:y></a:x></r>',
    apex: 'y',
    expected: '<b:y xmlns:a="urn:a" xmlns:b="urn:b" a:attr="1"><z xmlns="urn:d"></z></b:y>',
  },
  {
    name: 'a prefix redeclared with another URI inside the subtree',
    xml: '<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c/></p:b><p:d/></p:a>',
    expected: '<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c></p:c></p:b><p:d></p:d></p:a>',
  },
  {
    name: 'a prefix redeclared with the same URI is superfluous',
    xml: '<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:1"/></p:a>',
    expected: '<p:a xmlns:p="urn:1"><p:b></p:b></p:a>',
  },
  {
    name: 'a rebinding on an element that does not use the prefix is invisible; bound back, nothing to render',
    xml: '<p:a xmlns:p="urn:A"><b xmlns:p="urn:B"><p:c xmlns:p="urn:A"/></b></p:a>',
    expected: '<p:a xmlns:p="urn:A"><b><p:c></p:c></b></p:a>',
  },
  {
    name: 'a rebinding on an element that does not use the prefix is rendered where it is used',
    xml: '<p:a xmlns:p="urn:A"><b xmlns:p="urn:B"><p:c/></b></p:a>',
    expected: '<p:a xmlns:p="urn:A"><b><p:c xmlns:p="urn:B"></p:c></b></p:a>',
  },
  {
    name: 'default namespace, then xmlns="" undeclaring it, then no declaration below',
    xml: '<a xmlns="urn:d"><b xmlns=""><c/></b><d/></a>',
    expected: '<a xmlns="urn:d"><b xmlns=""><c></c></b><d></d></a>',
  },
  {
    name: 'xmlns="" with no default namespace in effect renders nothing',
    xml: '<a><b xmlns=""/></a>',
    expected: '<a><b></b></a>',
  },
  {
    name: 'default namespace declared on a prefixed element is rendered on the unprefixed child only',
    xml: '<p:a xmlns:p="urn:p" xmlns="urn:d"><b/><p:c><d xmlns=""/></p:c></p:a>',
    expected: '<p:a xmlns:p="urn:p"><b xmlns="urn:d"></b><p:c><d></d></p:c></p:a>',
  },
  {
    name: 'xmlns="" is rendered when the nearest output ancestor using the default namespace rendered one',
    xml: '<a xmlns="urn:d"><p:b xmlns:p="urn:p"><c xmlns=""/></p:b></a>',
    expected: '<a xmlns="urn:d"><p:b xmlns:p="urn:p"><c xmlns=""></c></p:b></a>',
  },
  {
    name: 'a prefix used only by an attribute',
    xml: '<a xmlns:x="urn:x" xmlns:y="urn:y"><b x:attr="1"/></a>',
    expected: '<a><b xmlns:x="urn:x" x:attr="1"></b></a>',
  },
  {
    name: 'superfluous declarations are dropped',
    xml: '<a xmlns:unused="urn:u" xmlns:also="urn:v"><b/></a>',
    expected: '<a><b></b></a>',
  },
  {
    name: 'an explicit xmlns:xml declaration is never rendered',
    xml: '<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en"/>',
    expected: '<a xml:lang="en"></a>',
  },
  {
    name: 'namespace URIs are escaped like attribute values (C14N §2.3)',
    xml: '<p:a xmlns:p="urn:a&amp;b&quot;c&lt;d&#9;e"/>',
    expected: '<p:a xmlns:p="urn:a&amp;b&quot;c&lt;d&#x9;e"></p:a>',
    xmlCrypto: {
      deviation: 'renders namespace URIs unescaped, so a quote in a URI forges attributes in the output',
      output: '<p:a xmlns:p="urn:a&b"c<d\te"></p:a>',
    },
  },

  // Attribute and namespace ordering.
  {
    name: 'attributes: unqualified first by local name, then by namespace URI, then local name',
    xml: '<a xmlns:z="urn:a" xmlns:y="urn:b" b="2" a="1" y:a="4" z:b="3" z:a="5"/>',
    expected: '<a xmlns:y="urn:b" xmlns:z="urn:a" a="1" b="2" z:a="5" z:b="3" y:a="4"></a>',
  },
  {
    name: 'attributes: the namespace URI decides before the local name (http://a:z before http://ab:c)',
    xml: '<a xmlns:p="http://a" xmlns:q="http://ab" q:c="2" p:z="1"/>',
    expected: '<a xmlns:p="http://a" xmlns:q="http://ab" p:z="1" q:c="2"></a>',
    xmlCrypto: {
      deviation: 'compares namespace URI + local name concatenated',
      output: '<a xmlns:p="http://a" xmlns:q="http://ab" q:c="2" p:z="1"></a>',
    },
  },
  {
    name: 'xml:lang and xml:space sort by the XML namespace URI among the qualified attributes',
    xml: '<a xml:space="preserve" z:d="3" xml:lang="en" b="1" p:c="2" xmlns:z="http://zzz" xmlns:p="http://a.example"/>',
    expected:
      '<a xmlns:p="http://a.example" xmlns:z="http://zzz" b="1" p:c="2" xml:lang="en" xml:space="preserve" z:d="3"></a>',
  },
  {
    name: 'namespace declarations sort by prefix in code point order (B before a)',
    xml: '<B:x xmlns:a="urn:2" xmlns:B="urn:1" a:y="1"/>',
    expected: '<B:x xmlns:B="urn:1" xmlns:a="urn:2" a:y="1"></B:x>',
    xmlCrypto: {
      deviation: 'sorts prefixes with localeCompare',
      output: '<B:x xmlns:a="urn:2" xmlns:B="urn:1" a:y="1"></B:x>',
    },
  },
  {
    name: 'namespace declarations sort by prefix in code point order (a- before a_)',
    xml: '<a xmlns:a_="urn:1" xmlns:a-="urn:2" a_:x="1" a-:y="2"/>',
    expected: '<a xmlns:a-="urn:2" xmlns:a_="urn:1" a_:x="1" a-:y="2"></a>',
    xmlCrypto: {
      deviation: 'sorts prefixes with localeCompare',
      output: '<a xmlns:a_="urn:1" xmlns:a-="urn:2" a_:x="1" a-:y="2"></a>',
    },
  },
  {
    name: 'code point order, not UTF-16 order: U+FF21 sorts before U+10000 (local names and prefixes)',
    xml: '<a xmlns:p="urn:x" xmlns:\u{10000}="urn:1" xmlns:\uFF21="urn:2" p:\u{10000}="2" p:\uFF21="1" \u{10000}:b="3" \uFF21:b="4"/>',
    expected:
      '<a xmlns:p="urn:x" xmlns:\uFF21="urn:2" xmlns:\u{10000}="urn:1" \u{10000}:b="3" \uFF21:b="4" p:\uFF21="1" p:\u{10000}="2"></a>',
    xmlCrypto: { deviation: 'xmldom refuses names outside the BMP', output: 'unparsable' },
  },

  // Escaping and character data.
  {
    name: 'text escapes & < > (and nothing else); quotes are kept',
    xml: `<a>&amp; &lt; &gt; " ' &#x26;lt; ]]&gt;</a>`,
    expected: `<a>&amp; &lt; &gt; " ' &amp;lt; ]]&gt;</a>`,
  },
  {
    name: 'attribute values escape & < " (not > or \'), whichever quote delimited them',
    xml: `<a b="&amp; &lt; > &quot; '" c='"double" &apos;single&apos;'/>`,
    expected: `<a b="&amp; &lt; > &quot; '" c="&quot;double&quot; 'single'"></a>`,
  },
  {
    name: 'literal tab, LF and CRLF in an attribute are normalized to spaces by the parser (XML §3.3.3)',
    xml: '<a b="x\ty\nz\r\nw\rv"/>',
    expected: '<a b="x y z w v"></a>',
  },
  {
    name: 'tab, LF and CR given as character references in an attribute are kept, as references',
    xml: '<a b="&#9;&#10;&#13;&#x9;&#xA;&#xD;"/>',
    expected: '<a b="&#x9;&#xA;&#xD;&#x9;&#xA;&#xD;"></a>',
  },
  {
    name: 'CRLF and lone CR in text become LF (XML §2.11); CR given as a reference stays, escaped',
    xml: '<a>t\r\nu\rv&#13;w&#10;x\ty&#9;z\r</a>',
    expected: '<a>t\nu\nv&#xD;w\nx\ty\tz\n</a>',
  },
  {
    name: 'CRLF line endings between elements and inside attribute values',
    xml: '<a\r\n  b="1"\r\n  c="x\r\ny">\r\n  <d/>\r\n</a>',
    expected: '<a b="1" c="x y">\n  <d></d>\n</a>',
  },
  {
    name: 'CDATA sections become escaped text and merge with the text around them',
    xml: '<a>x<![CDATA[<b>&amp;</b> ]]]]><![CDATA[> "\r\n]]>y<![CDATA[]]></a>',
    expected: '<a>x&lt;b&gt;&amp;amp;&lt;/b&gt; ]]&gt; "\ny</a>',
  },
  { name: 'an empty CDATA section renders nothing', xml: '<a><![CDATA[]]></a>', expected: '<a></a>' },
  {
    name: 'non-ASCII and astral characters in text and attributes, literal or referenced, are output as is',
    xml: '<a b="é😀&#x1F600;&#xE9;">ü 中文 😀 &#x1F600; &#xE9; &#x85;&#x2028;</a>',
    expected: '<a b="é😀😀é">ü 中文 😀 😀 é \u0085\u2028</a>',
  },
  {
    name: 'non-ASCII element, attribute and prefix names',
    xml: '<é:ñ xmlns:é="urn:é" é:ü="1"><ß/></é:ñ>',
    expected: '<é:ñ xmlns:é="urn:é" é:ü="1"><ß></ß></é:ñ>',
  },
  {
    name: 'empty elements are written with start and end tags; whitespace inside tags is dropped',
    xml: `<a   b = "1"\n  c='2'  ><b/><c></c><d  /></a  >`,
    expected: '<a b="1" c="2"><b></b><c></c><d></d></a>',
  },
  {
    name: 'whitespace-only text is kept',
    xml: '<a>\n  <b> </b>\t\n</a>',
    expected: '<a>\n  <b> </b>\t\n</a>',
  },

  // InclusiveNamespaces PrefixList.
  {
    name: 'PrefixList: a listed prefix declared on the apex but not used is rendered',
    xml: '<r><p:a xmlns:p="urn:p" xmlns:xs="urn:xs"><b t="xs:string"/></p:a></r>',
    apex: 'a',
    prefixes: ['xs'],
    expected: '<p:a xmlns:p="urn:p" xmlns:xs="urn:xs"><b t="xs:string"></b></p:a>',
  },
  {
    name: 'PrefixList: a listed prefix declared on an ancestor outside the subtree is rendered on the apex',
    xml: '<r xmlns:xs="urn:xs"><p:a xmlns:p="urn:p"><b t="xs:string"/></p:a></r>',
    apex: 'a',
    prefixes: ['xs'],
    expected: '<p:a xmlns:p="urn:p" xmlns:xs="urn:xs"><b t="xs:string"></b></p:a>',
  },
  {
    name: 'PrefixList: without the list, the same unused prefix is not rendered',
    xml: '<r xmlns:xs="urn:xs"><p:a xmlns:p="urn:p"><b t="xs:string"/></p:a></r>',
    apex: 'a',
    expected: '<p:a xmlns:p="urn:p"><b t="xs:string"></b></p:a>',
  },
  {
    name: 'PrefixList: a listed prefix in scope nowhere renders nothing',
    xml: '<p:a xmlns:p="urn:p"><b/></p:a>',
    prefixes: ['nope'],
    expected: '<p:a xmlns:p="urn:p"><b></b></p:a>',
  },
  {
    name: 'PrefixList: a listed prefix declared on a descendant is rendered there',
    xml: '<p:a xmlns:p="urn:p"><b xmlns:xs="urn:xs"><c/></b></p:a>',
    prefixes: ['xs'],
    expected: '<p:a xmlns:p="urn:p"><b xmlns:xs="urn:xs"><c></c></b></p:a>',
  },
  {
    name: 'PrefixList: a listed prefix rebound in a descendant is rendered again',
    xml: '<p:a xmlns:p="urn:p" xmlns:xs="urn:1"><b xmlns:xs="urn:2"/></p:a>',
    prefixes: ['xs'],
    expected: '<p:a xmlns:p="urn:p" xmlns:xs="urn:1"><b xmlns:xs="urn:2"></b></p:a>',
  },
  {
    name: "PrefixList: the apex's own binding wins over the ancestor's",
    xml: '<r xmlns:xs="urn:outer"><a xmlns:xs="urn:inner"/></r>',
    apex: 'a',
    prefixes: ['xs'],
    expected: '<a xmlns:xs="urn:inner"></a>',
  },
  {
    name: 'PrefixList: a prefix also used visibly is rendered once',
    xml: '<r xmlns:xs="urn:xs"><xs:a><xs:b/></xs:a></r>',
    apex: 'a',
    prefixes: ['xs'],
    expected: '<xs:a xmlns:xs="urn:xs"><xs:b></xs:b></xs:a>',
  },
  {
    name: 'PrefixList: a listed name equal to an attribute local name declares nothing',
    xml: '<a xmlns:p="urn:p" p:b="v"/>',
    prefixes: ['b'],
    expected: '<a xmlns:p="urn:p" p:b="v"></a>',
    xmlCrypto: {
      deviation: "takes a prefixed attribute's local name and value for a namespace declaration",
      output: '<a xmlns:b="v" xmlns:p="urn:p" p:b="v"></a>',
    },
  },
  {
    name: 'PrefixList "#default": the default namespace in scope is rendered on a prefixed apex',
    xml: '<r xmlns="urn:d"><p:a xmlns:p="urn:p"><p:b/><c/></p:a></r>',
    apex: 'a',
    prefixes: ['#default'],
    expected: '<p:a xmlns="urn:d" xmlns:p="urn:p"><p:b></p:b><c></c></p:a>',
    xmlCrypto: {
      deviation: 'ignores "#default" (renders the default namespace only where visibly used)',
      output: '<p:a xmlns:p="urn:p"><p:b></p:b><c xmlns="urn:d"></c></p:a>',
    },
  },
  {
    name: 'PrefixList "#default": xmlns="" below an output parent with a default namespace (C14N rule)',
    xml: '<a xmlns="urn:d"><p:b xmlns:p="urn:p"><c xmlns=""/></p:b></a>',
    apex: 'b',
    prefixes: ['#default'],
    expected: '<p:b xmlns="urn:d" xmlns:p="urn:p"><c xmlns=""></c></p:b>',
    xmlCrypto: {
      deviation: 'ignores "#default"',
      output: '<p:b xmlns:p="urn:p"><c></c></p:b>',
    },
  },
  {
    name: 'without "#default", xmlns="" has no output ancestor that used a default namespace: not rendered',
    xml: '<a xmlns="urn:d"><p:b xmlns:p="urn:p"><c xmlns=""/></p:b></a>',
    apex: 'b',
    expected: '<p:b xmlns:p="urn:p"><c></c></p:b>',
  },

  // Subtrees of a SAML Response, as a Reference canonicalizes them.
  {
    name: "an Assertion using only the Response's declarations, its Signature excluded",
    xml: RESPONSE,
    apex: 'Assertion',
    exclude: 'Signature',
    expected: `<saml:Assertion xmlns:saml="${SAML}" ID="_a"><saml:Issuer>idp</saml:Issuer><saml:AttributeStatement><saml:Attribute Name="g"><saml:AttributeValue xmlns:xsi="${XSI}" xsi:type="xs:string">a &amp; b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`,
  },
  {
    name: 'the same with PrefixList "xs": the QName in xsi:type keeps its binding',
    xml: RESPONSE,
    apex: 'Assertion',
    exclude: 'Signature',
    prefixes: ['xs'],
    expected: `<saml:Assertion xmlns:saml="${SAML}" xmlns:xs="${XS}" ID="_a">${ASSERTION_BODY.replace('<saml:AttributeValue', `<saml:AttributeValue xmlns:xsi="${XSI}"`)}`,
  },
  {
    name: 'the excluded subtree leaves the text around it, and the declarations only it used',
    xml: `<a xmlns:ds="${DSIG}">\n  <b/>\n  <ds:Signature><ds:x/></ds:Signature>\n</a>`,
    exclude: 'Signature',
    expected: '<a>\n  <b></b>\n  \n</a>',
  },
  {
    name: "an apex in its ancestor's default namespace renders it",
    xml: '<r xmlns="urn:d"><a><b/></a></r>',
    apex: 'a',
    expected: '<a xmlns="urn:d"><b></b></a>',
  },
  {
    name: 'an apex that undeclares its ancestor\'s default namespace renders no xmlns=""',
    xml: '<r xmlns="urn:d"><a xmlns=""><b/></a></r>',
    apex: 'a',
    expected: '<a><b></b></a>',
  },
  {
    name: 'a prefix used by the excluded subtree and after it is declared where it is used next',
    xml: `<a xmlns:ds="${DSIG}"><ds:Signature/><ds:Other/></a>`,
    exclude: 'Signature',
    expected: `<a><ds:Other xmlns:ds="${DSIG}"></ds:Other></a>`,
  },
  {
    name: 'a comment or processing instruction outside the subtree does not matter',
    xml: '<r><!-- outside --><?pi outside?><a>x</a></r>',
    apex: 'a',
    expected: '<a>x</a>',
  },
];

describeC14nCorpus(
  'exclusiveCanonicalXml',
  CORPUS,
  (apex, exclude, c) =>
    exclusiveCanonicalXml(apex, {
      ...(exclude ? { exclude } : {}),
      ...(c.prefixes ? { inclusiveNamespacePrefixes: c.prefixes } : {}),
    }),
  false,
);

describe('exclusiveCanonicalXml: documents that are the same XML canonicalize the same', () => {
  // Syntax a signer or a proxy may change without changing the document: verification must survive it.
  const canonical = `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b>t &amp; &lt;u&gt;</p:b><p:c></p:c></p:a>`;
  it.each([
    ['the canonical form itself', canonical],
    [
      'single quotes, attributes reordered',
      `<p:a y='&lt;&amp;"' x='1' xmlns:p='urn:p'><p:b>t &amp; &lt;u></p:b><p:c/></p:a>`,
    ],
    [
      'character references and CDATA',
      `<p:a xmlns:p="urn:p" x="&#49;" y="&#60;&#38;&#34;"><p:b>t <![CDATA[& <u>]]></p:b><p:c/></p:a>`,
    ],
    [
      'whitespace inside tags, an XML declaration',
      `<?xml version="1.0" encoding="UTF-8"?>\n<p:a\n xmlns:p = "urn:p"\tx="1"  y="&lt;&amp;&quot;" ><p:b >t &amp; &lt;u&gt;</p:b ><p:c\n/></p:a>`,
    ],
    [
      'a superfluous declaration on a descendant',
      `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b xmlns:p="urn:p" xmlns:q="urn:q">t &amp; &lt;u&gt;</p:b><p:c/></p:a>`,
    ],
  ])('%s', (_name, xml) => {
    expect(exclusiveCanonicalXml(parseStrictXml(xml).documentElement)).toBe(canonical);
  });

  it.each([
    ['a text edit', `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b>t &amp; &lt;v&gt;</p:b><p:c/></p:a>`],
    [
      'whitespace added between elements',
      `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b>t &amp; &lt;u&gt;</p:b> <p:c/></p:a>`,
    ],
    [
      'another URI for the prefix',
      `<p:a xmlns:p="urn:P" x="1" y="&lt;&amp;&quot;"><p:b>t &amp; &lt;u&gt;</p:b><p:c/></p:a>`,
    ],
    [
      'a descendant rebinding the prefix',
      `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b xmlns:p="urn:q">t &amp; &lt;u&gt;</p:b><p:c/></p:a>`,
    ],
    [
      'another prefix for the same URI',
      `<q:a xmlns:q="urn:p" x="1" y="&lt;&amp;&quot;"><q:b>t &amp; &lt;u&gt;</q:b><q:c/></q:a>`,
    ],
    [
      'an attribute moved into a namespace',
      `<p:a xmlns:p="urn:p" p:x="1" y="&lt;&amp;&quot;"><p:b>t &amp; &lt;u&gt;</p:b><p:c/></p:a>`,
    ],
    ['markup that was text', `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b>t &amp; <u/></p:b><p:c/></p:a>`],
    [
      'a CR given as a reference instead of a literal one',
      `<p:a xmlns:p="urn:p" x="1" y="&lt;&amp;&quot;"><p:b>t &amp; &lt;u&gt;&#13;</p:b><p:c/></p:a>`,
    ],
  ])('differs after %s', (_name, xml) => {
    expect(exclusiveCanonicalXml(parseStrictXml(xml).documentElement)).not.toBe(canonical);
  });
});

describe('exclusiveCanonicalXml: refusals', () => {
  it.each([
    ['a comment', '<a>x<!-- c -->y</a>'],
    ['an empty comment (the NameID truncation trick)', '<a><b>alice@example.com<!---->.evil.example</b></a>'],
    ['a comment deep inside', '<a><b><c><!-- c --></c></b></a>'],
    ['a processing instruction', '<a><?pi data?></a>'],
  ])('throws on %s inside the subtree', (_name, xml) => {
    expect(() => exclusiveCanonicalXml(parseStrictXml(xml).documentElement)).toThrow();
  });

  // The canonical form assumes what XML Namespaces guarantees; the parser must refuse what breaks it.
  it.each([
    ['two attributes with the same expanded name', '<a xmlns:p="urn:x" xmlns:q="urn:x" p:b="1" q:b="2"/>'],
    ['a duplicate attribute', '<a b="1" b="2"/>'],
    ['an unbound prefix', '<p:a/>'],
    ['an unbound attribute prefix', '<a p:b="1"/>'],
    ['xml bound to another URI', '<a xmlns:xml="urn:not-xml"/>'],
    ['the xmlns prefix declared', '<a xmlns:xmlns="urn:x"/>'],
    ['a prefix undeclared (not allowed in XML Namespaces 1.0)', '<a xmlns:p="urn:p"><b xmlns:p=""/></a>'],
  ])('the parser refuses %s', (_name, xml) => {
    expect(() => parseStrictXml(xml)).toThrow(XmlRejected);
  });
});
