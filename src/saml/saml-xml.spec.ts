import { describe, expect, it } from '@jest/globals';
import { hasCommentOrProcessingInstruction, parseStrictXml, XmlRejected } from './saml-xml.js';

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

  it.each([
    ['an unclosed element', '<a><b></a>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['text only', 'hello'],
    ['an undefined entity', '<a>&nope;</a>'],
    ['an unbound prefix', '<p:a/>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['the same attribute through two prefixes', '<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>'],
  ])('refuses %s (never recovered from)', (_name, xml) => {
    expect(() => parseStrictXml(xml)).toThrow(/^is not well-formed XML/);
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
