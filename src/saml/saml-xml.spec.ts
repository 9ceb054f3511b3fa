import { describe, expect, it } from '@jest/globals';
import { SaxesParser } from 'saxes';
import { hasCommentOrProcessingInstruction, parseStrictXml, XmlRejected, type XmlElement } from './saml-xml.js';
import { thrownBy } from '../../test/support/errors.js';

describe('parseStrictXml', () => {
  it('parses well-formed XML with an XML declaration', () => {
    const doc = parseStrictXml('<?xml version="1.0" encoding="UTF-8"?><a x="1"><b/></a>');
    expect(doc.documentElement.localName).toBe('a');
    expect(hasCommentOrProcessingInstruction(doc)).toBe(false);
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE a><a/>'],
    ['an internal entity', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'],
    ['an external entity', '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'],
    ['a lower-case doctype', '<!doctype a><a/>'],
  ])('refuses %s before parsing', (_name, xml) => {
    expect(() => parseStrictXml(xml)).toThrow(new XmlRejected('must not contain a DOCTYPE or entity declarations'));
  });

  // The message (the caller's description) names nothing from the document; the detail (audit) does.
  it.each<[string, string, string, string | undefined]>([
    ['an unclosed element', '<a><b></a>', 'unmatched end tag', 'unmatched end tag: a'],
    ['an unclosed root', '<é>', 'unclosed tag', 'unclosed tag: é'],
    ['an unclosed start tag', '<é', 'unclosed start tag', 'unclosed start tag: é'],
    ['an unquoted attribute', '<a x=1/>', 'unquoted attribute value', undefined],
    ['text only', 'hello', 'text data outside of the root element', undefined],
    ['an undefined entity', '<a>&nope;</a>', 'undefined entity', 'undefined entity: nope'],
    ['an unbound prefix', '<p:a/>', 'unbound prefix', 'unbound prefix: p'],
    ['an unbound attribute prefix', '<a ü:x="1"/>', 'unbound prefix', 'unbound prefix: ü'],
    ['a duplicate attribute', '<a x="1" x="2"/>', 'duplicate attribute', 'duplicate attribute: x'],
    [
      'the same attribute through two prefixes',
      '<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>',
      'duplicate attribute',
      'duplicate attribute: {urn:x}x',
    ],
    ['a malformed name', '<a:b:c xmlns:a="urn:a"/>', 'malformed name', 'malformed name: a:b:c'],
    ['a prefix undeclared', '<a xmlns:p="urn:p"><b xmlns:p=""/></a>', 'undeclares a prefix', 'undeclares a prefix: p'],
    ['the xmlns prefix declared', '<a xmlns:xmlns="urn:x"/>', 'declares the xmlns prefix', undefined],
    ['"]]>" in text', '<a>]]></a>', "the string ']]>' in character data", undefined],
    ['a "/" not closing a tag', '<a /x/>', "'/' in a start tag not followed by '>'", undefined],
    ['"<" in an attribute value', '<a x="<"/>', "'<' in an attribute value", undefined],
  ])('refuses %s (never recovered from), naming nothing from the document', (_name, xml, problem, detail) => {
    const error = thrownBy(() => parseStrictXml(xml));
    expect(error).toBeInstanceOf(XmlRejected);
    expect({ message: (error as XmlRejected).message, detail: (error as XmlRejected).detail }).toEqual({
      message: `is not well-formed XML (${problem})`,
      detail: detail && `is not well-formed XML (${detail})`,
    });
  });

  it('refuses XML 1.1 (exclusive c14n is defined for XML 1.0; 1.1 normalises other line ends)', () => {
    expect(() => parseStrictXml('<?xml version="1.1"?><a>\u0085</a>')).toThrow(
      new XmlRejected('must be XML version 1.0'),
    );
  });

  it('refuses nesting deeper than 32 elements, before any recursive walk', () => {
    const nested = (depth: number) => '<a>'.repeat(depth) + '</a>'.repeat(depth);
    expect(parseStrictXml(nested(32)).documentElement.localName).toBe('a');
    expect(() => parseStrictXml(nested(33))).toThrow(/nested too deeply/);
    expect(() => parseStrictXml(nested(10_000))).toThrow(/nested too deeply/);
  });

  it('keeps namespaces, prefixes and attributes as written (namespace declarations apart)', () => {
    const el = parseStrictXml('<p:a xmlns:p="urn:p" xmlns="urn:d" p:x="1" y="2"><b/></p:a>').documentElement;
    expect([el.prefix, el.localName, el.namespaceURI]).toEqual(['p', 'a', 'urn:p']);
    expect(el.attributes.map((a) => [a.name, a.namespaceURI, a.value])).toEqual([
      ['p:x', 'urn:p', '1'],
      ['y', '', '2'],
    ]);
    expect([...el.namespaceDeclarations]).toEqual([
      ['p', 'urn:p'],
      ['', 'urn:d'],
    ]);
    const b = el.firstChild as typeof el;
    expect([b.namespaceURI, b.lookupNamespaceURI('p'), b.lookupNamespaceURI('q')]).toEqual([
      'urn:d',
      'urn:p',
      undefined,
    ]);
  });

  it('finds comments and processing instructions anywhere', () => {
    expect(hasCommentOrProcessingInstruction(parseStrictXml('<a><b>x<!---->y</b></a>'))).toBe(true);
    expect(hasCommentOrProcessingInstruction(parseStrictXml('<a><?pi data?></a>'))).toBe(true);
    expect(hasCommentOrProcessingInstruction(parseStrictXml('<!-- c --><a/>'))).toBe(true);
  });
});

/**
 * parseStrictXml resolves namespaces itself (saxes runs with its namespace processing off, for speed):
 * on every document here it must agree with saxes's own namespace processing, in the names it resolves
 * and in what it refuses.
 */
describe('parseStrictXml namespaces, against saxes with xmlns: true', () => {
  type Resolved = [string, string, string, [string, string, string][]];
  const viaSaxes = (xml: string): Resolved[] => {
    const out: Resolved[] = [];
    const parser = new SaxesParser({ xmlns: true, position: false });
    parser.on('opentag', (tag) => {
      const attributes = Object.values(tag.attributes)
        .filter((a) => a.uri !== 'http://www.w3.org/2000/xmlns/')
        .map((a): [string, string, string] => [a.name, a.uri, a.value]);
      out.push([tag.prefix, tag.local, tag.uri, attributes]);
    });
    parser.write(xml).close();
    return out;
  };
  const viaTree = (xml: string): Resolved[] => {
    const out: Resolved[] = [];
    const walk = (el: XmlElement) => {
      out.push([
        el.prefix,
        el.localName!,
        el.namespaceURI ?? '',
        el.attributes.map((a) => [a.name, a.namespaceURI, a.value]),
      ]);
      for (let node = el.firstChild; node; node = node.nextSibling) if (node.nodeType === 1) walk(node as XmlElement);
    };
    walk(parseStrictXml(xml).documentElement);
    return out;
  };

  it.each([
    ['no namespaces', '<a x="1"><b y="2"/></a>'],
    ['a default namespace, inherited', '<a xmlns="urn:d"><b/><c xmlns="urn:e"><d/></c></a>'],
    ['the default namespace undeclared', '<a xmlns="urn:d"><b xmlns=""><c/></b></a>'],
    ['prefixes declared at several levels', '<p:a xmlns:p="urn:p"><q:b xmlns:q="urn:q" p:x="1"><p:c/></q:b></p:a>'],
    ['a prefix rebound below', '<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2" p:x="1"/><p:c/></p:a>'],
    ['unprefixed attributes take no namespace', '<a xmlns="urn:d" x="1"><b y="2"/></a>'],
    [
      'the xml prefix, predeclared and declared',
      '<a xml:lang="en"><b xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:space="preserve"/></a>',
    ],
    ['the same local name under two namespaces', '<a xmlns:p="urn:p" xmlns:q="urn:q" p:x="1" q:x="2" x="3"/>'],
    [
      'a SAML assertion',
      '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_1"><saml:AttributeValue xsi:type="xs:string">v</saml:AttributeValue></saml:Assertion>',
    ],
  ])('resolves %s the same', (_name, xml) => {
    expect(viaTree(xml)).toEqual(viaSaxes(xml));
  });

  it.each([
    ['an unbound element prefix', '<p:a/>'],
    ['an unbound attribute prefix', '<a p:x="1"/>'],
    ['a prefix bound only on a sibling', '<a><b xmlns:p="urn:p"/><p:c/></a>'],
    ['a prefix undeclared (XML 1.0)', '<p:a xmlns:p="urn:p"><p:b xmlns:p=""/></p:a>'],
    ['the xmlns prefix declared', '<a xmlns:xmlns="http://www.w3.org/2000/xmlns/"/>'],
    ['the xml prefix bound elsewhere', '<a xmlns:xml="urn:x"/>'],
    ['the XML namespace bound to another prefix', '<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>'],
    ['the xmlns namespace bound', '<a xmlns:p="http://www.w3.org/2000/xmlns/"/>'],
    ['the xmlns namespace as default', '<a xmlns="http://www.w3.org/2000/xmlns/"/>'],
    ['the XML namespace as default', '<a xmlns="http://www.w3.org/XML/1998/namespace"/>'],
    ['an element with prefix xmlns', '<xmlns:a/>'],
    ['two colons in a name', '<p:a:b xmlns:p="urn:p"/>'],
    ['an empty prefix', '<:a/>'],
    ['an empty local name', '<p: xmlns:p="urn:p"/>'],
    ['one expanded attribute name twice', '<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>'],
  ])('refuses %s, as saxes does', (_name, xml) => {
    expect(() => viaSaxes(xml)).toThrow();
    expect(() => parseStrictXml(xml)).toThrow(XmlRejected);
  });
});
