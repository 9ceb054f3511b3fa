import { join } from 'node:path';
import { generate } from 'selfsigned';
import { median } from './open-loop.js';
import {
  assertionXml,
  attributeStatement,
  sign,
  valuesFilling,
  type Canonicalization,
  type InputSettings,
  type Signer,
} from './saml-inputs.js';

/**
 * The cost of verifying a SAML assertion, by input, in-process: actbridge's own modules (the production
 * build in dist/) run the steps of its SAML validator up to the checks on the verified assertion —
 * decode, strict parse, envelope checks, signature verification, reading the verified Assertion — on
 * each input in turn, and the server CPU per verification is compared with the fast path's: the
 * bench's own assertion (exclusive c14n, a few kB), or, for inputs as large as a request body may be,
 * a genuine assertion of the same size. Hostile inputs carry a correct digest and a signature by a key
 * the anchor does not trust, so every step runs before the refusal; they are verified against an anchor
 * that opted in to inclusive c14n, the larger profile.
 */

/** About the largest assertion a request can carry: MAX_BODY_BYTES (128 KiB) holds ~96 kB of XML in base64url. */
const LARGE = 90_000;
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';

interface Pipeline {
  /** 'verified', or the refusal's message (the signature value verified on the calling thread). */
  verify(token: string, canonicalization: Canonicalization): Promise<string>;
  /** The first two steps alone: decode and strict parse. */
  parse(token: string): void;
}

export interface SamlCostInput {
  readonly id: string;
  readonly title: string;
  /** The document, XML. */
  readonly xml: string;
  readonly canonicalization: Canonicalization;
  /** The input whose cost this one is compared with. */
  readonly baseline?: string;
  /**
   * `variant`: the baseline's own assertion, canonicalized another way or with something in its
   * unsigned KeyInfo (attacker-controlled, never read); `hostile`: made to cost as much as its size allows.
   */
  readonly group?: 'variant' | 'hostile';
}

export interface SamlCostRow {
  readonly id: string;
  readonly title: string;
  readonly bytes: number;
  readonly verdict: string;
  /** CPU µs per verification, median of the runs. */
  readonly cpuUs: number;
  /** Of which the decode and strict parse, CPU µs (what any input costs before anything is checked). */
  readonly parseUs: number;
  readonly baseline: string | undefined;
  readonly group: 'variant' | 'hostile' | undefined;
  /** cpuUs ÷ the baseline's (1 for a baseline). */
  readonly ratio: number;
}

async function loadPipeline(root: string, certificate: string): Promise<Pipeline> {
  const dist = (path: string) => import(join(root, 'dist', path));
  const { decodeSamlToken, inspectEnvelope, readAssertion, SamlRejected } = await dist('saml/saml2-assertion.js');
  const { verifySamlSignature } = await dist('saml/saml2-signature.js');
  const { parseStrictXml, XmlRejected } = await dist('saml/saml-xml.js');
  const anchor = (canonicalization: Canonicalization) => ({
    name: 'bench-idp',
    entityId: 'https://idp.bench.example/saml',
    allowUnsignedAssertionInSignedResponse: false,
    canonicalization,
  });
  const anchors = { exclusive: anchor('exclusive'), inclusive: anchor('inclusive') };
  return {
    parse(token) {
      parseStrictXml(decodeSamlToken(token));
    },
    async verify(token, canonicalization) {
      try {
        const envelope = inspectEnvelope(parseStrictXml(decodeSamlToken(token)));
        readAssertion(await verifySamlSignature(envelope, anchors[canonicalization], [certificate], 'inline'));
        return 'verified';
      } catch (error) {
        if (error instanceof SamlRejected || error instanceof XmlRejected)
          return `refused: ${(error as Error).message}`;
        throw error;
      }
    },
  };
}

async function keyPair(commonName: string): Promise<Signer> {
  const pems = await generate([{ name: 'commonName', value: commonName }], { keySize: 2048, algorithm: 'sha256' });
  return { certificate: pems.cert, privateKey: pems.private };
}

/** The inputs, in the order reported; each large hostile input is about LARGE bytes. */
export function samlCostInputs(settings: InputSettings, idp: Signer, attacker: Signer): SamlCostInput[] {
  const small = (values = ['readers']) => assertionXml(settings, attributeStatement(values));
  const signedSmall = sign(small(), idp, 'exclusive').length;
  const large = () => small(valuesFilling(LARGE - signedSmall));
  const fast = sign(small(), idp, 'exclusive');
  const keyName = fast.replace('<ds:KeyInfo>', `<ds:KeyInfo><ds:KeyName Algorithm="${C14N}">k</ds:KeyName>`);
  /** An assertion whose one attribute value holds `inner`, signed by the attacker (a correct digest). */
  const hostile = (inner: string, c14n: Canonicalization = 'exclusive', prefixes: string[] = []) =>
    sign(small([inner]), attacker, c14n, prefixes);
  /** Units of markup making a document of about `size` bytes. */
  const filler = (unit: (i: number) => string, size = LARGE) => {
    const parts: string[] = [];
    for (let i = 0, length = signedSmall; length < size; i++) {
      length += parts[parts.push(unit(i)) - 1]!.length;
    }
    return parts.join('');
  };
  // xml-crypto writes the PrefixList into SignedInfo's CanonicalizationMethod and into both transforms.
  const prefixes = Array.from({ length: 3000 }, (_, i) => `p${i.toString(36)}`);
  const listed = hostile('', 'exclusive', prefixes).length - hostile('').length;
  return [
    { id: 'fast', title: 'bench assertion, exclusive c14n (the fast path)', xml: fast, canonicalization: 'exclusive' },
    {
      id: 'inclusive',
      title: 'the same signed with inclusive c14n, anchor opted in',
      xml: sign(small(), idp, 'inclusive'),
      canonicalization: 'inclusive',
      baseline: 'fast',
      group: 'variant',
    },
    {
      id: 'keyname',
      title: 'KeyInfo holding a KeyName with Algorithm = inclusive c14n',
      xml: keyName,
      canonicalization: 'exclusive',
      baseline: 'fast',
      group: 'variant',
    },
    {
      id: 'inclusive-forged',
      title: 'inclusive c14n, signed by an untrusted key, anchor opted in',
      xml: sign(small(), attacker, 'inclusive'),
      canonicalization: 'inclusive',
      baseline: 'fast',
      group: 'variant',
    },
    {
      id: 'large',
      title: `genuine assertion of ${LARGE / 1000} kB (attribute values), exclusive c14n`,
      xml: sign(large(), idp, 'exclusive'),
      canonicalization: 'exclusive',
    },
    {
      id: 'large-inclusive',
      title: 'the same signed with inclusive c14n, anchor opted in',
      xml: sign(large(), idp, 'inclusive'),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'variant',
    },
    {
      id: 'elements',
      title: 'hostile: empty elements, as many as fit',
      xml: hostile(filler(() => '<a/>')),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'elements-inclusive',
      title: 'hostile: the same, inclusive c14n',
      xml: hostile(
        filler(() => '<a/>'),
        'inclusive',
      ),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'prefix-list',
      title: `hostile: an InclusiveNamespaces PrefixList of ${prefixes.length} prefixes, and elements`,
      xml: hostile(
        filler(() => '<a/>', LARGE - listed),
        'exclusive',
        prefixes,
      ),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'rebindings',
      title: 'hostile: elements each rebinding a prefix it uses',
      xml: hostile(filler((i) => `<p:a xmlns:p="u:${i}"/>`)),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'declarations-inclusive',
      title: 'hostile: elements each declaring a new prefix, inclusive c14n',
      xml: hostile(
        filler((i) => `<a xmlns:q${i.toString(36)}="u"/>`),
        'inclusive',
      ),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'deep',
      title: 'hostile: elements nested as deep as allowed, repeated',
      xml: hostile(filler(() => `${'<a>'.repeat(24)}${'</a>'.repeat(24)}`)),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'attributes',
      title: 'hostile: one element with as many attributes as fit',
      xml: hostile(`<a ${filler((i) => ` a${i.toString(36)}="1"`)}/>`),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
    {
      id: 'keyinfo',
      title: 'hostile: a KeyInfo as large as fits (unsigned, never read)',
      xml: fast.replace(
        '<ds:KeyInfo>',
        `<ds:KeyInfo>${filler(() => `<ds:KeyName Algorithm="${DSIG}">k</ds:KeyName>`)}`,
      ),
      canonicalization: 'inclusive',
      baseline: 'large',
      group: 'hostile',
    },
  ];
}

/**
 * CPU µs per verification of each input (and per parse alone): `runs` rounds, each running every input
 * for `seconds` in turn (so a drift in the machine's speed reaches every input alike), median of the rounds.
 */
export async function measureSamlCost(root: string, seconds: number, runs: number): Promise<SamlCostRow[]> {
  const [idp, attacker] = await Promise.all([keyPair('idp.bench.example'), keyPair('attacker.example')]);
  const settings: InputSettings = {
    root,
    entityId: 'https://idp.bench.example/saml',
    audience: 'https://sts.bench.example',
    recipient: 'https://sts.bench.example/oauth/token',
  };
  const pipeline = await loadPipeline(root, idp.certificate);
  const inputs = samlCostInputs(settings, idp, attacker).map((input) => ({
    ...input,
    token: Buffer.from(input.xml, 'utf8').toString('base64url'),
    samples: [] as number[],
    parseSamples: [] as number[],
  }));
  const verdicts = new Map<string, string>();
  for (const i of inputs) verdicts.set(i.id, await pipeline.verify(i.token, i.canonicalization));
  // Both steps are awaited alike (verify returns a promise), so the parse's share is comparable.
  const cpuUsPerCall = async (ms: number, call: () => unknown): Promise<number> => {
    let n = 0;
    const start = process.cpuUsage();
    const end = performance.now() + ms;
    while (performance.now() < end || n === 0) {
      await call();
      n++;
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  for (let round = -1; round < runs; round++) {
    // Round -1 warms up (JIT) and is not counted; every other round runs the inputs in reverse order.
    const ms = (round < 0 ? Math.min(0.2, seconds) : seconds) * 1000;
    for (const input of round % 2 === 0 ? inputs : [...inputs].reverse()) {
      // An untimed lead-in: the collection of the previous input's garbage is not charged to this one.
      await cpuUsPerCall(ms / 4, () => pipeline.verify(input.token, input.canonicalization));
      const full = await cpuUsPerCall(ms, () => pipeline.verify(input.token, input.canonicalization));
      const parse = await cpuUsPerCall(ms / 2, () => pipeline.parse(input.token));
      if (round < 0) continue;
      input.samples.push(full);
      input.parseSamples.push(parse);
    }
  }
  const cost = new Map(inputs.map((i) => [i.id, median(i.samples)]));
  return inputs.map((i) => ({
    id: i.id,
    title: i.title,
    bytes: Buffer.byteLength(i.xml),
    verdict: verdicts.get(i.id)!,
    cpuUs: cost.get(i.id)!,
    parseUs: median(i.parseSamples),
    baseline: i.baseline,
    group: i.group,
    ratio: cost.get(i.id)! / cost.get(i.baseline ?? i.id)!,
  }));
}

/** The input of `group` costing most relative to its baseline. */
export function worstSamlInput(rows: readonly SamlCostRow[], group: 'variant' | 'hostile'): SamlCostRow | undefined {
  return rows
    .filter((r) => r.group === group)
    .reduce<SamlCostRow | undefined>((w, r) => (w && w.ratio >= r.ratio ? w : r), undefined);
}
