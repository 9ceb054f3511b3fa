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
  ])('refuses %s (xmldom would otherwise recover)', (_name, xml) => {
    expect(() => parseStrictXml(xml)).toThrow(/^is not well-formed XML/);
  });

  it('finds comments and processing instructions anywhere', () => {
    expect(hasCommentOrProcessingInstruction(parseStrictXml('<a><b>x<!---->y</b></a>'))).toBe(true);
    expect(hasCommentOrProcessingInstruction(parseStrictXml('<a><?pi data?></a>'))).toBe(true);
    expect(hasCommentOrProcessingInstruction(parseStrictXml('<!-- c --><a/>'))).toBe(true);
  });
});
