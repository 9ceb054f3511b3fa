/**
 * A strict, non-validating XML 1.0 reader (W3C XML 1.0, fifth edition) for documents without a DTD:
 * what SAML messages and metadata are. It reports start tags, end tags, character data, comments and
 * processing instructions to a sink, and throws XmlSyntaxError at the first well-formedness error: it
 * never recovers, since two parsers that disagree about a document is how signature wrapping starts.
 * Namespaces are left to the sink (saml-xml.ts).
 *
 * It replaced saxes for speed: saxes reads every character through a state machine, which made the
 * parse half of a SAML assertion's verification; this one finds markup with indexOf and checks every
 * character once, with one regular expression (performance notes #28). xml-reader.spec.ts holds it to
 * saxes's verdicts and events on hand-written documents and on mutated SAML documents.
 */

/** `message` says what is wrong without quoting the document; `offending` is the name it concerns, if any. */
export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
  constructor(
    message: string,
    readonly offending?: string,
  ) {
    super(message);
  }
}

export interface XmlSink {
  /** `attributes`: name, value, name, value… as written (values normalised, references expanded). */
  openTag(name: string, attributes: string[]): void;
  closeTag(): void;
  /** Character data inside the root element, references expanded; a CDATA section's content as is. */
  text(data: string): void;
  comment(data: string): void;
  processingInstruction(target: string, body: string): void;
}

/** §2.2 Char: no C0 control but tab and line ends, no surrogate alone, no U+FFFE/U+FFFF. */
const DISALLOWED_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** §2.8 XMLDecl, at offset 0 only; `S` has no CR left after line-end normalisation. */
const XML_DECLARATION =
  /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(?:"([^"]*)"|'([^']*)')(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(?:"[A-Za-z][\w.-]*"|'[A-Za-z][\w.-]*'))?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\n]*\?>/y;
const VERSION_NUMBER = /^1\.[0-9]+$/;
const ONLY_WHITESPACE = /^[ \t\n]*$/;
const ATTRIBUTE_WHITESPACE = /[\t\n]/g;
const DECIMAL = /^[0-9]+$/;
const HEXADECIMAL = /^[0-9a-fA-F]+$/;
/** §4.6: the only entities a document without a DTD may refer to. */
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;

/** §2.3 for ASCII: 3 starts or continues a Name (NameStartChar), 2 only continues one (NameChar). */
const ASCII_NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) ASCII_NAME[c] = 3;
  else if (/[0-9.-]/.test(ch)) ASCII_NAME[c] = 2;
}

function isNameStartCodePoint(c: number): boolean {
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    (c >= 0x200c && c <= 0x200d) ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0xeffff)
  );
}

function isNameCodePoint(c: number): boolean {
  return isNameStartCodePoint(c) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) || (c >= 0x203f && c <= 0x2040);
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09;
}

function fail(message: string, offending?: string): never {
  throw new XmlSyntaxError(message, offending?.slice(0, 100));
}

/**
 * Reads `source` to its end, reporting to `sink`; returns the version of its XML declaration (undefined
 * without one). A DTD is refused (the caller refuses one before reading, to name it).
 */
export function readXml(source: string, sink: XmlSink): string | undefined {
  // A byte order mark is not part of the document (§4.3.3, F.1).
  let input = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  // §2.11: CR LF and lone CR are read as LF before anything else (character references excepted).
  if (input.includes('\r')) input = input.replace(/\r\n?/g, '\n');
  if (DISALLOWED_CHARACTER.test(input)) fail('disallowed character');
  return new Reader(input, sink).read();
}

class Reader {
  private pos = 0;
  private readonly open: string[] = [];
  private rootClosed = false;

  constructor(
    private readonly input: string,
    private readonly sink: XmlSink,
  ) {}

  read(): string | undefined {
    const { input } = this;
    const version = this.declaration();
    while (this.pos < input.length) {
      const lt = input.indexOf('<', this.pos);
      const end = lt === -1 ? input.length : lt;
      if (end > this.pos) this.characterData(this.pos, end);
      if (lt === -1) break;
      this.pos = lt;
      const next = input.charCodeAt(lt + 1);
      if (next === SLASH) this.endTag();
      else if (next === BANG) this.markupDeclaration();
      else if (next === QUESTION) this.processingInstruction();
      else this.startTag();
    }
    if (this.open.length > 0) fail('unclosed tag', this.open[this.open.length - 1]);
    if (!this.rootClosed) fail('no root element');
    return version;
  }

  /** §2.8: the XML declaration, only at the very start; `<?xml-stylesheet` and the like are PIs. */
  private declaration(): string | undefined {
    const { input } = this;
    if (!input.startsWith('<?xml') || this.nameEnd(2) !== 5) return undefined;
    XML_DECLARATION.lastIndex = 0;
    const match = XML_DECLARATION.exec(input);
    if (!match) fail('malformed XML declaration');
    const version = match[1] ?? match[2]!;
    if (!VERSION_NUMBER.test(version)) fail('malformed XML declaration (version)');
    this.pos = XML_DECLARATION.lastIndex;
    return version;
  }

  /** §2.4 CharData between markup: inside the root element only, else whitespace (§2.1 Misc). */
  private characterData(from: number, to: number): void {
    const raw = this.input.slice(from, to);
    if (this.open.length === 0) {
      if (!ONLY_WHITESPACE.test(raw)) fail('text data outside of the root element');
      return;
    }
    if (raw.includes(']]>')) fail("the string ']]>' in character data");
    this.sink.text(expand(raw, false));
  }

  /** §3.1 STag / EmptyElemTag, at `<`. */
  private startTag(): void {
    const { input } = this;
    const nameStart = this.pos + 1;
    const nameEnd = this.nameEnd(nameStart);
    if (nameEnd === nameStart) fail('disallowed character in a tag name');
    if (this.rootClosed) fail('more than one root element');
    const name = input.slice(nameStart, nameEnd);
    const attributes: string[] = [];
    let names: Set<string> | undefined;
    let at = nameEnd;
    for (;;) {
      const afterSpace = this.skipWhitespace(at);
      const c = input.charCodeAt(afterSpace);
      if (c === GT) {
        this.pos = afterSpace + 1;
        this.open.push(name);
        this.sink.openTag(name, attributes);
        return;
      }
      if (c === SLASH) {
        if (input.charCodeAt(afterSpace + 1) !== GT) fail("'/' in a start tag not followed by '>'");
        this.pos = afterSpace + 2;
        this.sink.openTag(name, attributes);
        this.sink.closeTag();
        if (this.open.length === 0) this.rootClosed = true;
        return;
      }
      if (Number.isNaN(c)) fail('unclosed start tag', name);
      if (afterSpace === at) fail('no whitespace between attributes');
      if (attributes.length === 32) names = new Set(attributes.filter((_, i) => i % 2 === 0));
      at = this.attribute(afterSpace, attributes, names);
    }
  }

  /** §3.1 Attribute at `at`, appended to `attributes`; returns the offset after its closing quote. */
  private attribute(at: number, attributes: string[], names: Set<string> | undefined): number {
    const { input } = this;
    const nameEnd = this.nameEnd(at);
    if (nameEnd === at) fail('disallowed character in an attribute name');
    const name = input.slice(at, nameEnd);
    // §3.1 WFC Unique Att Spec (a set once there are many: a hostile tag may carry thousands).
    if (names ? names.has(name) : namedIn(attributes, name)) fail('duplicate attribute', name);
    names?.add(name);
    let p = this.skipWhitespace(nameEnd);
    if (input.charCodeAt(p) !== EQUALS) fail('attribute without a value');
    p = this.skipWhitespace(p + 1);
    const quote = input[p];
    if (quote !== '"' && quote !== "'") fail('unquoted attribute value');
    const close = input.indexOf(quote, p + 1);
    if (close === -1) fail('unterminated attribute value');
    const raw = input.slice(p + 1, close);
    // §3.1 WFC No < in Attribute Values.
    if (raw.includes('<')) fail("'<' in an attribute value");
    attributes.push(name, expand(raw, true));
    return close + 1;
  }

  /** §3.1 ETag, at `</`. */
  private endTag(): void {
    const { input } = this;
    const nameStart = this.pos + 2;
    const nameEnd = this.nameEnd(nameStart);
    const close = this.skipWhitespace(nameEnd);
    if (nameEnd === nameStart || input.charCodeAt(close) !== GT) fail('malformed end tag');
    const name = input.slice(nameStart, nameEnd);
    // §3 WFC Element Type Match.
    if (this.open.length === 0 || this.open[this.open.length - 1] !== name) {
      fail('unmatched end tag', name);
    }
    this.open.pop();
    this.pos = close + 1;
    this.sink.closeTag();
    if (this.open.length === 0) this.rootClosed = true;
  }

  /** At `<!`: a comment (§2.5) or a CDATA section (§2.7); a DOCTYPE was refused before reading. */
  private markupDeclaration(): void {
    const { input } = this;
    const at = this.pos;
    if (input.startsWith('<!--', at)) {
      const end = input.indexOf('-->', at + 4);
      if (end === -1) fail('unterminated comment');
      const data = input.slice(at + 4, end);
      // §2.5: no "--" inside, and not ending in "-" (which "--->" would be).
      if (data.includes('--') || data.endsWith('-')) fail('malformed comment');
      this.pos = end + 3;
      this.sink.comment(data);
    } else if (input.startsWith('<![CDATA[', at)) {
      if (this.open.length === 0) fail('text data outside of the root element');
      const end = input.indexOf(']]>', at + 9);
      if (end === -1) fail('unterminated CDATA section');
      this.pos = end + 3;
      this.sink.text(input.slice(at + 9, end));
    } else {
      fail('unexpected markup declaration');
    }
  }

  /** §2.6 PI, at `<?`. */
  private processingInstruction(): void {
    const { input } = this;
    const targetStart = this.pos + 2;
    const targetEnd = this.nameEnd(targetStart);
    if (targetEnd === targetStart) fail('malformed processing instruction');
    const target = input.slice(targetStart, targetEnd);
    if (target.toLowerCase() === 'xml') fail('an XML declaration must be at the start of the document');
    // Namespaces in XML §7: no PI target contains a colon.
    if (target.includes(':')) fail('a colon in a processing instruction target');
    let body = '';
    if (input.startsWith('?>', targetEnd)) {
      this.pos = targetEnd + 2;
    } else {
      if (!isWhitespace(input.charCodeAt(targetEnd))) fail('malformed processing instruction');
      const bodyStart = this.skipWhitespace(targetEnd);
      const end = input.indexOf('?>', bodyStart);
      if (end === -1) fail('unterminated processing instruction');
      body = input.slice(bodyStart, end);
      this.pos = end + 2;
    }
    this.sink.processingInstruction(target, body);
  }

  private skipWhitespace(at: number): number {
    const { input } = this;
    while (isWhitespace(input.charCodeAt(at))) at++;
    return at;
  }

  /** The end of the §2.3 Name starting at `at` (`at` itself when none starts there). */
  private nameEnd(at: number): number {
    const { input } = this;
    let p = at;
    for (;;) {
      const c = input.charCodeAt(p);
      if (c < 128) {
        const kind = ASCII_NAME[c]!;
        if (kind === 3 || (kind === 2 && p > at)) {
          p++;
          continue;
        }
        return p;
      }
      if (Number.isNaN(c)) return p;
      const codePoint = input.codePointAt(p)!;
      if (p === at ? !isNameStartCodePoint(codePoint) : !isNameCodePoint(codePoint)) return p;
      p += codePoint > 0xffff ? 2 : 1;
    }
  }
}

function namedIn(attributes: readonly string[], name: string): boolean {
  for (let i = 0; i < attributes.length; i += 2) if (attributes[i] === name) return true;
  return false;
}

/** Character data with §4.1 references expanded; in an attribute value, §3.3.3 normalisation too. */
function expand(raw: string, attribute: boolean): string {
  if (!raw.includes('&')) return attribute ? raw.replace(ATTRIBUTE_WHITESPACE, ' ') : raw;
  let out = '';
  let at = 0;
  for (let amp = raw.indexOf('&'); amp !== -1; amp = raw.indexOf('&', at)) {
    const literal = raw.slice(at, amp);
    out += attribute ? literal.replace(ATTRIBUTE_WHITESPACE, ' ') : literal;
    const semicolon = raw.indexOf(';', amp + 1);
    if (semicolon === -1) fail('unterminated reference');
    out += reference(raw.slice(amp + 1, semicolon));
    at = semicolon + 1;
  }
  const literal = raw.slice(at);
  return out + (attribute ? literal.replace(ATTRIBUTE_WHITESPACE, ' ') : literal);
}

/** §4.1 Reference: `&name;` or `&#…;`, given the text between `&` and `;`. */
function reference(name: string): string {
  if (name.charCodeAt(0) === 0x23 /* # */) {
    const hex = name.charCodeAt(1) === 0x78; /* x */
    const digits = name.slice(hex ? 2 : 1);
    if (!(hex ? HEXADECIMAL : DECIMAL).test(digits)) fail('malformed character reference');
    const significant = digits.replace(/^0+(?=.)/, '');
    const value = significant.length > 8 ? Infinity : parseInt(significant, hex ? 16 : 10);
    // §4.1 WFC Legal Character: the same §2.2 Char the whole document is held to.
    const character = value <= 0x10ffff ? String.fromCodePoint(value) : '\uFFFF';
    if (DISALLOWED_CHARACTER.test(character)) fail('character reference to a disallowed character');
    return character;
  }
  const replacement = Object.hasOwn(PREDEFINED, name) ? PREDEFINED[name] : undefined;
  // §4.1 WFC Entity Declared: without a DTD, only the five predefined entities exist.
  if (replacement === undefined) fail('undefined entity', name);
  return replacement;
}
