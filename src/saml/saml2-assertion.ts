import {
  attr,
  child,
  children,
  descendants,
  ELEMENT_NODE,
  hasCommentOrProcessingInstruction,
  NS,
  parseStrictXml,
  text,
  type XmlDocument,
  type XmlElement,
} from './saml-xml.js';

/**
 * The format-specific parts of SAML 2.0 assertion validation, as pure functions: decoding, the
 * structural checks on the presented (unverified) document, and the RFC 7522 §3 checks on the
 * verified assertion. Failures throw SamlRejected with the message the caller is told.
 */
export class SamlRejected extends Error {
  override readonly name = 'SamlRejected';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const NOT_YET_VALID = 'is not yet valid (NotBefore)';
const UNSOLICITED_ONLY =
  'answers an AuthnRequest (InResponseTo), but actbridge sends none: only unsolicited assertions are accepted';
/** The encoding an XML declaration names (XML 1.0 §4.3.3 EncodingDecl), at the very start. */
const DECLARED_ENCODING = /^\uFEFF?<\?xml[ \t\r\n][^>]*?[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')/;
/** SAML Core §1.3.3: xs:dateTime in UTC. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * RFC 8693 §3 / RFC 7522 §2.1: base64url without padding; padded (and standard-alphabet) base64 is
 * accepted too, as many SAML stacks produce it. One alphabet per value, no whitespace or line breaks.
 */
export function decodeSamlToken(token: string): string {
  const urlSafe = /^[A-Za-z0-9_-]+={0,2}$/.test(token);
  const standard = !urlSafe && /^[A-Za-z0-9+/]+={0,2}$/.test(token);
  const padded = token.endsWith('=');
  if ((!urlSafe && !standard) || token.length % 4 === 1 || (padded && token.length % 4 !== 0)) {
    throw new SamlRejected('is not base64url-encoded');
  }
  const bytes = Buffer.from(token, urlSafe ? 'base64url' : 'base64');
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SamlRejected('is not UTF-8 encoded XML');
  }
  // XML 1.0 §4.3.3: a document in another encoding than its declaration names is in error. Read as UTF-8,
  // one declaring (say) ISO-8859-1 would be read as other characters than its IdP and other SAML stacks read:
  // refused unless it is ASCII, the same characters in every encoding an IdP declares (one octet each).
  const declared = DECLARED_ENCODING.exec(xml);
  const encoding = declared && (declared[1] ?? declared[2]!);
  if (encoding && encoding.toLowerCase() !== 'utf-8' && bytes.length !== xml.length) {
    throw new SamlRejected(
      'is not UTF-8 encoded XML (its XML declaration names another encoding)',
      `its XML declaration names encoding ${JSON.stringify(encoding.slice(0, 40))}`,
    );
  }
  if (
    !xml
      .replace(/^\uFEFF/, '')
      .trimStart()
      .startsWith('<')
  )
    throw new SamlRejected('is not an XML document');
  return xml;
}

/** What the presented document looks like, before any signature is verified: used to refuse, never to accept. */
export interface SamlEnvelope {
  readonly kind: 'assertion' | 'response';
  /** The Assertion's `<Issuer>`, unverified: selects the anchor whose certificates are tried. */
  readonly issuer: string;
  readonly assertionSigned: boolean;
  readonly responseSigned: boolean;
  /** The one Assertion, and the Response around it (kind 'response'), in the parsed document. */
  readonly assertion: XmlElement;
  readonly response?: XmlElement;
}

/**
 * Structural checks on the presented document: a SAML 2.0 Assertion, or a samlp:Response with a
 * Success status carrying exactly one Assertion (RFC 7522 §2.1); no comments or processing
 * instructions; nothing encrypted; no SHA-1 in any signature.
 */
export function inspectEnvelope(doc: XmlDocument & { readonly documentElement: XmlElement }): SamlEnvelope {
  const root = doc.documentElement;
  if (hasCommentOrProcessingInstruction(doc)) {
    throw new SamlRejected('must not contain XML comments or processing instructions');
  }
  let assertion: XmlElement;
  let responseSigned = false;
  if (root.namespaceURI === NS.assertion && root.localName === 'Assertion') {
    assertion = root;
  } else if (root.namespaceURI === NS.protocol && root.localName === 'Response') {
    if (children(root, NS.assertion, 'EncryptedAssertion').length > 0) {
      throw new SamlRejected('carries an EncryptedAssertion; encrypted assertions are not supported');
    }
    const assertions = children(root, NS.assertion, 'Assertion');
    if (assertions.length !== 1) throw new SamlRejected('must carry exactly one Assertion');
    assertion = assertions[0]!;
    const status = child(root, NS.protocol, 'Status');
    const code = status && child(status, NS.protocol, 'StatusCode');
    if (!code || attr(code, 'Value') !== SUCCESS) throw new SamlRejected('is a Response whose status is not Success');
    responseSigned = child(root, NS.dsig, 'Signature') !== undefined;
    const responseIssuer = child(root, NS.assertion, 'Issuer');
    const assertionIssuer = child(assertion, NS.assertion, 'Issuer');
    if (responseIssuer && assertionIssuer && text(responseIssuer) !== text(assertionIssuer)) {
      throw new SamlRejected('is a Response whose Issuer differs from its Assertion Issuer');
    }
  } else if (root.namespaceURI === NS.saml1Assertion) {
    throw new SamlRejected('is a SAML 1.x assertion; only SAML 2.0 is supported');
  } else {
    throw new SamlRejected('is not a SAML 2.0 Assertion or Response');
  }
  if (descendants(assertion, NS.assertion, 'Assertion').length > 0) {
    throw new SamlRejected('must carry exactly one Assertion (nested assertions are not accepted)');
  }
  for (const name of ['EncryptedID', 'EncryptedAttribute']) {
    if (descendants(assertion, NS.assertion, name).length > 0) {
      throw new SamlRejected(`carries an ${name}; encrypted elements are not supported`);
    }
  }
  for (const name of ['SignatureMethod', 'DigestMethod']) {
    for (const el of descendants(doc, NS.dsig, name)) {
      if (/sha1$/i.test(attr(el, 'Algorithm') ?? '')) {
        throw new SamlRejected('is signed with SHA-1, which is not accepted (use RSA-SHA256 or stronger)');
      }
    }
  }
  const issuer = child(assertion, NS.assertion, 'Issuer');
  if (!issuer || text(issuer).length === 0) throw new SamlRejected('has no Issuer');
  return {
    kind: root === assertion ? 'assertion' : 'response',
    issuer: text(issuer),
    assertionSigned: child(assertion, NS.dsig, 'Signature') !== undefined,
    responseSigned,
    assertion,
    ...(root !== assertion && { response: root }),
  };
}

/** The presented token's envelope: decoded, parsed strictly (no DOCTYPE, no comments), then inspected. */
export function openEnvelope(token: string): SamlEnvelope {
  return inspectEnvelope(parseStrictXml(decodeSamlToken(token)));
}

export interface SubjectConfirmationFacts {
  readonly method: string | undefined;
  readonly data?: {
    readonly notBefore?: number;
    readonly notOnOrAfter?: number;
    readonly recipient?: string;
    /** The ID of the AuthnRequest the assertion answers (SAML Profiles §4.1.4.2). */
    readonly inResponseTo?: string;
  };
}

/** SAML Core §2.5.1.6 `<ProxyRestriction>`: how many more indirections, to which audiences. */
export interface ProxyRestrictionFacts {
  /** Absent: no limit on the number of indirections. */
  readonly count?: number;
  readonly audiences: readonly string[];
}

/** SAML Core §2.2.3 `<NameID>`: the value and the attributes that scope it (SAML Core §2.2.2). */
export interface SamlNameId {
  readonly value: string;
  readonly format?: string;
  readonly nameQualifier?: string;
  readonly spNameQualifier?: string;
  readonly spProvidedId?: string;
}

/** An assertion's content, read from verified XML only. Times are epoch seconds. */
export interface AssertionFacts {
  readonly id: string;
  readonly issuer: string;
  readonly issueInstant: number;
  /** The Subject's NameID: its value, and those of its Format, NameQualifier, SPNameQualifier, SPProvidedID. */
  readonly nameId: SamlNameId;
  readonly confirmations: readonly SubjectConfirmationFacts[];
  readonly conditions?: {
    readonly notBefore?: number;
    readonly notOnOrAfter?: number;
    readonly audienceRestrictions: readonly (readonly string[])[];
    readonly proxyRestrictions: readonly ProxyRestrictionFacts[];
    readonly unsupported: readonly string[];
  };
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  /** SAML Core §2.7.2 `<AuthnStatement>` (one at most, RFC 7522 §3: a second is refused): when (AuthnInstant) and how the subject authenticated. */
  readonly authn?: { readonly instant?: number; readonly contextClass?: string };
  /** Its SessionNotOnOrAfter (SAML Core §2.7.2): the end of any session derived from the assertion. */
  readonly sessionNotOnOrAfter?: number;
}

/** Reads the facts RFC 7522 §3 needs from a verified Assertion element (SAML Core §2.3-2.7). */
export function readAssertion(assertion: XmlElement): AssertionFacts {
  if (assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') {
    throw new SamlRejected('is not a SAML 2.0 Assertion');
  }
  if (attr(assertion, 'Version') !== '2.0') throw new SamlRejected('is not a SAML 2.0 assertion (Version)');
  const id = attr(assertion, 'ID');
  if (!id || id.length > 256) throw new SamlRejected('has a missing or oversized ID');

  const issuerEl = child(assertion, NS.assertion, 'Issuer');
  if (!issuerEl) throw new SamlRejected('has no Issuer');
  const issuer = textOnly(issuerEl, 'Issuer');
  const issuerFormat = attr(issuerEl, 'Format');
  if (issuerFormat !== undefined && issuerFormat !== ENTITY_FORMAT) {
    throw new SamlRejected('has an Issuer that is not an entity identifier');
  }

  const subject = child(assertion, NS.assertion, 'Subject');
  if (!subject) throw new SamlRejected('has no Subject'); // RFC 7522 §3 item 3
  const nameIdEl = child(subject, NS.assertion, 'NameID');
  if (!nameIdEl) throw new SamlRejected('has no NameID in its Subject');
  const nameId = textOnly(nameIdEl, 'NameID');
  if (nameId.trim().length === 0) throw new SamlRejected('has an empty NameID');
  const nameIdFormat = attr(nameIdEl, 'Format');
  const qualifiers = {
    nameQualifier: attr(nameIdEl, 'NameQualifier'),
    spNameQualifier: attr(nameIdEl, 'SPNameQualifier'),
    spProvidedId: attr(nameIdEl, 'SPProvidedID'),
  };

  const confirmations = children(subject, NS.assertion, 'SubjectConfirmation').map((sc) => {
    const data = child(sc, NS.assertion, 'SubjectConfirmationData');
    return {
      method: attr(sc, 'Method'),
      ...(data && {
        data: {
          notBefore: time(data, 'NotBefore', 'SubjectConfirmationData'),
          notOnOrAfter: time(data, 'NotOnOrAfter', 'SubjectConfirmationData'),
          recipient: attr(data, 'Recipient'),
          inResponseTo: attr(data, 'InResponseTo'),
        },
      }),
    };
  });

  const conditionsEl = child(assertion, NS.assertion, 'Conditions');
  let conditions: AssertionFacts['conditions'];
  if (conditionsEl) {
    const audienceRestrictions: string[][] = [];
    const proxyRestrictions: ProxyRestrictionFacts[] = [];
    const unsupported: string[] = [];
    let oneTimeUse = false;
    for (let node = conditionsEl.firstChild; node; node = node.nextSibling) {
      if (node.nodeType !== 1) continue;
      const el = node as XmlElement;
      if (el.namespaceURI === NS.assertion && el.localName === 'AudienceRestriction') {
        audienceRestrictions.push(audiencesOf(el));
      } else if (el.namespaceURI === NS.assertion && el.localName === 'ProxyRestriction') {
        proxyRestrictions.push(proxyRestriction(el));
      } else if (el.namespaceURI === NS.assertion && el.localName === 'OneTimeUse') {
        // SAML Core §2.5.1.5: at most one OneTimeUse per Conditions, as for ProxyRestriction (§2.5.1.6).
        if (oneTimeUse) throw new SamlRejected('has more than one OneTimeUse condition');
        oneTimeUse = true;
      } else {
        // SAML Core §2.5.1.5: a relying party must reject an assertion with a condition it does not understand.
        unsupported.push(el.localName ?? el.nodeName);
      }
    }
    conditions = {
      notBefore: time(conditionsEl, 'NotBefore', 'Conditions'),
      notOnOrAfter: time(conditionsEl, 'NotOnOrAfter', 'Conditions'),
      audienceRestrictions,
      proxyRestrictions,
      unsupported,
    };
  }

  const attributes = new Map<string, string[]>();
  for (const statement of children(assertion, NS.assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.assertion, 'Attribute')) {
      const name = attr(attribute, 'Name');
      if (!name) throw new SamlRejected('has an Attribute without a Name');
      const values = children(attribute, NS.assertion, 'AttributeValue').map(text);
      const known = attributes.get(name);
      if (known) known.push(...values);
      else attributes.set(name, values);
    }
  }

  const authnEl = child(assertion, NS.assertion, 'AuthnStatement');
  const authnContextEl = authnEl && child(authnEl, NS.assertion, 'AuthnContext');
  const classRefEl = authnContextEl && child(authnContextEl, NS.assertion, 'AuthnContextClassRef');
  const authnInstant = authnEl && time(authnEl, 'AuthnInstant', 'AuthnStatement');
  const sessionNotOnOrAfter = authnEl && time(authnEl, 'SessionNotOnOrAfter', 'AuthnStatement');
  const contextClass = classRefEl ? textOnly(classRefEl, 'AuthnContextClassRef').trim() : '';

  return {
    id,
    issuer,
    issueInstant: time(assertion, 'IssueInstant', 'Assertion', true)!,
    nameId: {
      value: nameId,
      ...(nameIdFormat !== undefined && { format: nameIdFormat }),
      ...Object.fromEntries(Object.entries(qualifiers).filter(([, v]) => v !== undefined)),
    },
    confirmations,
    ...(conditions && { conditions }),
    attributes: Object.fromEntries(attributes),
    ...(authnEl && {
      authn: {
        ...(authnInstant !== undefined && { instant: authnInstant }),
        ...(contextClass.length > 0 && { contextClass }),
      },
    }),
    ...(sessionNotOnOrAfter !== undefined && { sessionNotOnOrAfter }),
  };
}

export interface AssertionCheckContext {
  /** epoch seconds */
  readonly now: number;
  readonly clockSkew: number;
  readonly issuer: string;
  /** Names of actbridge an AudienceRestriction may use. */
  readonly audiences: readonly string[];
  /** The token endpoint URL: the only accepted SubjectConfirmationData Recipient. */
  readonly recipient: string;
  /**
   * An SSO assertion issued to a client's service provider, not to actbridge (`audiences` then names that
   * SP): its Recipient must be one of these ACS URLs instead of the token endpoint.
   */
  readonly acsUrls?: readonly string[];
  readonly maxLifetime: number;
}

export interface AssertionVerdict {
  /** When the assertion stops being usable, epoch seconds: bounds the issued token's lifetime. */
  readonly expiresAt: number;
  /**
   * Until when its ID must be remembered: the latest NotOnOrAfter of a bearer confirmation that admits it
   * now or could later (one not yet valid), at most Conditions' NotOnOrAfter, plus skew.
   */
  readonly replayUntil: number;
}

/** RFC 7522 §3 (and SAML Core §2.5, Profiles §4.1.4.2-3) on a verified assertion. */
export function checkAssertion(facts: AssertionFacts, ctx: AssertionCheckContext): AssertionVerdict {
  const { now, clockSkew: skew } = ctx;
  // RFC 7522 §3 item 1: exact string comparison.
  if (facts.issuer !== ctx.issuer) throw new SamlRejected('Issuer does not match the IdP that signed it');
  if (facts.issueInstant > now + skew) throw new SamlRejected('was issued in the future (IssueInstant)');
  // SAML Core §2.7.2: AuthnInstant is when the authentication took place; one ahead, carried as auth_time,
  // would pass every max_age check (RFC 9470 §3) for the issued token's whole life.
  const authnInstant = facts.authn?.instant;
  if (authnInstant !== undefined && authnInstant > now + skew) {
    throw new SamlRejected('says its subject authenticated in the future (AuthnStatement AuthnInstant)');
  }

  // RFC 7522 §3 item 2: the AudienceRestriction must name actbridge; SAML Core §2.5.1.4: with several
  // AudienceRestriction elements, each must.
  const conditions = facts.conditions;
  if (!conditions) throw new SamlRejected('has no Conditions (an AudienceRestriction is required)');
  if (conditions.unsupported.length > 0) {
    throw new SamlRejected(`has an unsupported condition: ${conditions.unsupported[0]}`);
  }
  // SAML Core §2.5.1.2: with both present, NotBefore must be earlier than NotOnOrAfter; skew must not mend it.
  if (reversed(conditions)) throw new SamlRejected('has Conditions whose NotBefore is not before its NotOnOrAfter');
  if (conditions.notBefore !== undefined && conditions.notBefore > now + skew) {
    throw new SamlRejected(NOT_YET_VALID);
  }
  // RFC 7522 §3 item 6: a passed Conditions NotOnOrAfter invalidates the whole assertion.
  if (conditions.notOnOrAfter !== undefined && conditions.notOnOrAfter <= now - skew) {
    throw new SamlRejected('has expired (NotOnOrAfter)');
  }
  const restrictions = conditions.audienceRestrictions;
  if (restrictions.length === 0 || !restrictions.every((r) => r.some((aud) => ctx.audiences.includes(aud)))) {
    throw new SamlRejected(
      `audience is not accepted: its AudienceRestriction must name ${ctx.audiences[0]}`,
      `audiences ${JSON.stringify(restrictions).slice(0, 300)} not in ${JSON.stringify(ctx.audiences)}`,
    );
  }
  checkProxyRestriction(conditions.proxyRestrictions);
  // SAML Core §2.7.2: SessionNotOnOrAfter bounds every session derived from the assertion, the issued token's too.
  const sessionEnd = facts.sessionNotOnOrAfter;
  if (sessionEnd !== undefined && sessionEnd <= now - skew) {
    throw new SamlRejected('session has ended (AuthnStatement SessionNotOnOrAfter)');
  }

  // RFC 7522 §3 items 4-6: a bearer confirmation; its data (required without a Conditions expiry) must
  // name this token endpoint as Recipient and carry a NotOnOrAfter; an expired one is dropped.
  const bearers = facts.confirmations.filter((c) => c.method === BEARER);
  if (bearers.length === 0) throw new SamlRejected('has no bearer SubjectConfirmation');
  const problems: string[] = [];
  const usable: SubjectConfirmationFacts[] = [];
  // Refused now only for a NotBefore ahead: each could admit the assertion later, so it counts for replay.
  const later: SubjectConfirmationFacts[] = [];
  for (const c of bearers) {
    const problem = confirmationProblem(c, conditions.notOnOrAfter !== undefined, ctx);
    if (problem === undefined) usable.push(c);
    else {
      problems.push(problem);
      if (problem === NOT_YET_VALID) later.push(c);
    }
  }
  if (usable.length === 0) throw new SamlRejected(`bearer SubjectConfirmation ${problems[0]}`);

  const admitting = [...usable, ...later];
  const expiriesOf = (list: readonly SubjectConfirmationFacts[]) =>
    list.map((c) => c.data?.notOnOrAfter).filter((t): t is number => t !== undefined);
  const validUntil = conditions.notOnOrAfter ?? Math.max(...expiriesOf(usable));
  // RFC 7522 §3 item 6: the AS may reject expiries unreasonably far in the future (any that could admit it).
  if (Math.max(validUntil, ...expiriesOf(admitting)) > now + ctx.maxLifetime + skew) {
    throw new SamlRejected(`expires too far in the future (more than ${ctx.maxLifetime} s ahead)`);
  }
  // Remembered while any confirmation could admit it, now or later; never past Conditions' NotOnOrAfter,
  // which invalidates the whole assertion (item 6). A confirmation without data has no expiry of its own.
  const ends = admitting.map((c) => Math.min(c.data?.notOnOrAfter ?? Infinity, conditions.notOnOrAfter ?? Infinity));
  return { expiresAt: Math.min(validUntil, sessionEnd ?? Infinity), replayUntil: Math.max(...ends) + skew };
}

/**
 * SAML Core §2.5.1.6: a token actbridge issues is issued on the basis of the assertion, so a
 * ProxyRestriction is honoured: `Count="0"` forbids it; an Audience list names the parties such tokens
 * may go to, and must name actbridge. At most one ProxyRestriction per Conditions.
 */
function checkProxyRestriction(proxyRestrictions: readonly ProxyRestrictionFacts[]): void {
  if (proxyRestrictions.length === 0) return;
  if (proxyRestrictions.length > 1) throw new SamlRejected('has more than one ProxyRestriction');
  const [{ count }] = proxyRestrictions as [ProxyRestrictionFacts];
  if (count === 0) throw new SamlRejected("ProxyRestriction forbids issuing a token on its basis (Count='0')");
  // Its Audience list names where tokens issued on the assertion's basis may go, not who may issue them:
  // the delegation core holds the issued token's audience to it (ValidatedToken.proxyAudiences).
}

/**
 * The text of an element of simple content (NameIDType, xs:anyURI: SAML Core §2.2.3, §2.2.5, §2.5.1.4,
 * §2.7.2.2). An element inside is refused, never read through: its text joined to the rest ('ad<x>min</x>'
 * read as 'admin') is not what another SAML stack, reading the first text node, would read.
 */
function textOnly(el: XmlElement, name: string): string {
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === ELEMENT_NODE)
      throw new SamlRejected(`has an element inside its ${name}, which holds text only`);
  }
  return text(el);
}

function audiencesOf(restriction: XmlElement): string[] {
  return children(restriction, NS.assertion, 'Audience').map((audience) => textOnly(audience, 'Audience'));
}

function proxyRestriction(el: XmlElement): ProxyRestrictionFacts {
  const count = attr(el, 'Count');
  // xs:nonNegativeInteger.
  if (count !== undefined && !/^\+?[0-9]{1,9}$/.test(count))
    throw new SamlRejected('has a malformed ProxyRestriction Count');
  return {
    ...(count !== undefined && { count: Number(count) }),
    audiences: audiencesOf(el),
  };
}

/**
 * SAML Bindings §3.5.5.2: a signed Response's Destination, when present, must be where it was received,
 * i.e. this token endpoint; otherwise the IdP signed it for another service provider. Absent is
 * allowed (SAML Core §3.2.2: optional). An unsigned Response's Destination says nothing and is not read.
 * Its InResponseTo likewise: one sent to actbridge must have none (SAML Profiles §4.1.5: actbridge sends
 * no AuthnRequest); one sent to a client's SP answered that SP's request, which the SP matched.
 */
export function checkDestination(response: XmlElement, tokenEndpoint: string, acsUrls?: readonly string[]): void {
  const destination = attr(response, 'Destination');
  // An SSO Response issued to a client's service provider was received at its ACS, not here.
  if (destination !== undefined && !(acsUrls ?? [tokenEndpoint]).includes(destination)) {
    throw new SamlRejected(
      acsUrls
        ? "Response Destination is not the client's assertion consumer service"
        : `Response Destination is not this token endpoint (${tokenEndpoint})`,
      `Destination ${JSON.stringify(destination.slice(0, 300))}`,
    );
  }
  if (!acsUrls && attr(response, 'InResponseTo') !== undefined) throw new SamlRejected(`Response ${UNSOLICITED_ONLY}`);
}

function confirmationProblem(
  confirmation: SubjectConfirmationFacts,
  conditionsExpire: boolean,
  { now, clockSkew: skew, recipient, acsUrls }: AssertionCheckContext,
): string | undefined {
  const data = confirmation.data;
  if (!data)
    return conditionsExpire ? undefined : 'has no SubjectConfirmationData (and Conditions has no NotOnOrAfter)';
  if (data.recipient === undefined) return 'has no Recipient';
  if (acsUrls) {
    // SAML Profiles §4.1.4.3: the Recipient is the ACS the SP received it at.
    if (!acsUrls.includes(data.recipient)) return "Recipient is not the client's assertion consumer service";
  } else {
    if (data.recipient !== recipient) return `Recipient is not this token endpoint (${recipient})`;
    // SAML Profiles §4.1.4.2, §4.1.5: InResponseTo must match the AuthnRequest the receiver sent; actbridge sends none.
    if (data.inResponseTo !== undefined) return UNSOLICITED_ONLY;
  }
  if (data.notOnOrAfter === undefined) return 'has no NotOnOrAfter';
  // SAML Core §2.4.1.2: an empty window admits nothing, now or later.
  if (reversed(data)) return 'has a NotBefore not before its NotOnOrAfter';
  if (data.notOnOrAfter <= now - skew) return 'has expired (NotOnOrAfter)';
  // Checked last: a confirmation refused for this alone admits the assertion later (see checkAssertion).
  if (data.notBefore !== undefined && data.notBefore > now + skew) return NOT_YET_VALID;
  return undefined;
}

/** NotBefore not earlier than NotOnOrAfter, both present; compared as read, to the second. */
function reversed({
  notBefore,
  notOnOrAfter,
}: {
  readonly notBefore?: number;
  readonly notOnOrAfter?: number;
}): boolean {
  return notBefore !== undefined && notOnOrAfter !== undefined && notBefore >= notOnOrAfter;
}

function time(el: XmlElement, name: string, where: string, required = false): number | undefined {
  const value = attr(el, name);
  if (value === undefined) {
    if (required) throw new SamlRejected(`has no ${name}`);
    return undefined;
  }
  const ms = DATE_TIME.test(value) && calendarDay(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new SamlRejected(`has a malformed ${where} ${name} (UTC xs:dateTime required)`);
  return Math.floor(ms / 1000);
}

/**
 * XML Schema §3.2.7: the day must exist in its month; Date.parse would roll `2026-02-30` over into March
 * and read another instant than the one written. (`T24:00:00`, the next day's midnight, is valid.)
 */
function calendarDay(value: string): boolean {
  const [year, month, day] = [value.slice(0, 4), value.slice(5, 7), value.slice(8, 10)].map(Number) as [
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}
