import { describe, expect, it } from '@jest/globals';
import { actorsOutermostFirst, chainDepth, nestActor, parseActChain, type ActClaim } from './act-chain.js';

/** A chain of `depth` actors, a0 outermost. */
function chain(depth: number): Record<string, unknown> {
  let act: Record<string, unknown> | undefined;
  for (let i = depth - 1; i >= 0; i--) act = act ? { sub: `a${i}`, act } : { sub: `a${i}` };
  return act!;
}

describe('parseActChain', () => {
  const valid: Array<{ name: string; input: unknown; limit?: number; expect: ActClaim }> = [
    { name: 'single actor with sub only', input: { sub: 'svc' }, expect: { sub: 'svc' } },
    {
      name: 'single actor with every identity member',
      input: { sub: 'svc', iss: 'https://idp.example', client_id: 'c1' },
      expect: { sub: 'svc', iss: 'https://idp.example', client_id: 'c1' },
    },
    {
      name: 'nested chain (RFC 8693 §4.1 example shape)',
      input: { sub: 'https://service16.example.com', act: { sub: 'https://service77.example.com' } },
      expect: { sub: 'https://service16.example.com', act: { sub: 'https://service77.example.com' } },
    },
    {
      name: 'three levels, identity members at each level',
      input: { sub: 'a', iss: 'https://a', act: { sub: 'b', client_id: 'cb', act: { sub: 'c', iss: 'https://c' } } },
      expect: { sub: 'a', iss: 'https://a', act: { sub: 'b', client_id: 'cb', act: { sub: 'c', iss: 'https://c' } } },
    },
    {
      name: 'exp, nbf, aud and other members are dropped at every level',
      input: {
        sub: 'a',
        iss: 'https://a',
        exp: 1,
        nbf: 2,
        aud: 'x',
        email: 'a@example.com',
        scope: 'admin',
        act: { sub: 'b', exp: 3, aud: ['y'], may_act: { sub: 'z' }, roles: ['root'] },
      },
      expect: { sub: 'a', iss: 'https://a', act: { sub: 'b' } },
    },
    {
      name: 'members explicitly undefined are ignored',
      input: { sub: 'a', iss: undefined, client_id: undefined, act: undefined },
      expect: { sub: 'a' },
    },
    { name: 'chain exactly at the depth limit', input: chain(3), limit: 3, expect: chain(3) as unknown as ActClaim },
    { name: 'depth limit 1 with one actor', input: { sub: 'a' }, limit: 1, expect: { sub: 'a' } },
  ];

  it('names an actor without iss, at every level, in the namespace of the issuer of the token carrying it', () => {
    // RFC 7519 §4.1.2: once nested in a token of actbridge's, an iss-less actor would be read as one of its clients.
    const input = { sub: 'a', act: { sub: 'b', iss: 'https://b', act: { sub: 'c', client_id: 'cc' } } };
    expect(parseActChain(input, 5, 'https://idp')).toEqual({
      ok: true,
      act: {
        sub: 'a',
        iss: 'https://idp',
        act: { sub: 'b', iss: 'https://b', act: { sub: 'c', iss: 'https://idp', client_id: 'cc' } },
      },
    });
    expect(parseActChain({ sub: 'a', iss: 7 }, 5, 'https://idp')).toEqual({
      ok: false,
      reason: 'has a non-string iss',
    });
  });

  it.each(valid)('accepts $name', ({ input, limit, expect: expected }) => {
    const result = parseActChain(input, limit ?? 5);
    expect(result).toEqual({ ok: true, act: expected });
    if (result.ok) {
      // Exactly the expected keys: nothing unexpected rides along (not even as undefined).
      let level: ActClaim | undefined = result.act;
      let want: ActClaim | undefined = expected;
      while (level && want) {
        expect(Object.keys(level).sort()).toEqual(Object.keys(want).sort());
        level = level.act;
        want = want.act;
      }
    }
  });

  const invalid: Array<{ name: string; input: unknown; limit?: number; reason: string }> = [
    { name: 'a string', input: 'svc', reason: 'is not an object' },
    { name: 'a number', input: 42, reason: 'is not an object' },
    { name: 'true', input: true, reason: 'is not an object' },
    { name: 'null', input: null, reason: 'is not an object' },
    { name: 'undefined', input: undefined, reason: 'is not an object' },
    { name: 'an array', input: [{ sub: 'svc' }], reason: 'is not an object' },
    { name: 'an empty array', input: [], reason: 'is not an object' },
    { name: 'a nested array', input: { sub: 'a', act: [{ sub: 'b' }] }, reason: 'is not an object' },
    { name: 'a nested string', input: { sub: 'a', act: 'b' }, reason: 'is not an object' },
    { name: 'a nested null', input: { sub: 'a', act: null }, reason: 'is not an object' },
    { name: 'missing sub', input: { iss: 'https://a' }, reason: 'has an actor without sub' },
    { name: 'empty object', input: {}, reason: 'has an actor without sub' },
    { name: 'empty sub', input: { sub: '' }, reason: 'has an actor without sub' },
    { name: 'numeric sub', input: { sub: 7 }, reason: 'has an actor without sub' },
    { name: 'null sub', input: { sub: null }, reason: 'has an actor without sub' },
    {
      name: 'nested actor without sub',
      input: { sub: 'a', act: { iss: 'https://b' } },
      reason: 'has an actor without sub',
    },
    { name: 'nested actor with empty sub', input: { sub: 'a', act: { sub: '' } }, reason: 'has an actor without sub' },
    { name: 'numeric iss', input: { sub: 'a', iss: 1 }, reason: 'has a non-string iss' },
    { name: 'null iss', input: { sub: 'a', iss: null }, reason: 'has a non-string iss' },
    { name: 'object iss', input: { sub: 'a', iss: { x: 1 } }, reason: 'has a non-string iss' },
    { name: 'array client_id', input: { sub: 'a', client_id: ['c'] }, reason: 'has a non-string client_id' },
    { name: 'boolean client_id', input: { sub: 'a', client_id: false }, reason: 'has a non-string client_id' },
    // An empty iss names no namespace (RFC 7519 §4.1.1 StringOrURI), and would be carried on as written.
    { name: 'empty iss', input: { sub: 'a', iss: '' }, reason: 'has an empty iss' },
    {
      name: 'nested empty client_id',
      input: { sub: 'a', act: { sub: 'b', client_id: '' } },
      reason: 'has an empty client_id',
    },
    {
      name: 'nested non-string iss',
      input: { sub: 'a', act: { sub: 'b', iss: 2 } },
      reason: 'has a non-string iss',
    },
    { name: 'one level beyond the limit', input: chain(4), limit: 3, reason: 'nests more than 3 actors' },
    { name: 'two actors with limit 1', input: chain(2), limit: 1, reason: 'nests more than 1 actors' },
    { name: 'a very deep chain', input: chain(1000), limit: 5, reason: 'nests more than 5 actors' },
  ];

  it.each(invalid)('rejects $name', ({ input, limit, reason }) => {
    expect(parseActChain(input, limit ?? 5)).toEqual({ ok: false, reason });
  });

  it('does not return the input object (no aliasing of presented claims)', () => {
    const input = { sub: 'a', act: { sub: 'b' } };
    const result = parseActChain(input, 5);
    expect(result.ok && result.act).not.toBe(input);
    expect(result.ok && result.act.act).not.toBe(input.act);
  });
});

describe('nestActor', () => {
  const actor = { sub: 'svc', iss: 'https://idp.example', claims: { sub: 'svc', email: 'svc@example.com' } };

  it.each([
    { name: 'no prior chain', prior: undefined, expect: { sub: 'svc', iss: 'https://idp.example' } },
    {
      name: 'prior chain nests inside, unchanged',
      prior: { sub: 'p1', iss: 'https://p', act: { sub: 'p0' } },
      expect: { sub: 'svc', iss: 'https://idp.example', act: { sub: 'p1', iss: 'https://p', act: { sub: 'p0' } } },
    },
  ])('$name', ({ prior, expect: expected }) => {
    const result = nestActor(actor, prior);
    expect(result).toEqual(expected);
    // Only identity: the actor's other claims never enter `act`.
    expect(Object.keys(result).sort()).toEqual(Object.keys(expected).sort());
  });
});

describe('chainDepth', () => {
  it.each([
    { name: 'undefined', input: undefined, expect: 0 },
    { name: 'one actor', input: { sub: 'a' }, expect: 1 },
    { name: 'two actors', input: { sub: 'a', act: { sub: 'b' } }, expect: 2 },
    { name: 'five actors', input: chain(5) as unknown as ActClaim, expect: 5 },
  ])('$name → $expect', ({ input, expect: expected }) => {
    expect(chainDepth(input)).toBe(expected);
  });
});

describe('actorsOutermostFirst', () => {
  it.each([
    { name: 'undefined', input: undefined, expect: [] },
    { name: 'one actor without iss', input: { sub: 'a' }, expect: [{ sub: 'a' }] },
    {
      name: 'current actor first, least recent last; client_id omitted; iss only when present',
      input: {
        sub: 'cur',
        iss: 'https://cur',
        client_id: 'c',
        act: { sub: 'mid', act: { sub: 'old', iss: 'https://old' } },
      },
      expect: [{ sub: 'cur', iss: 'https://cur' }, { sub: 'mid' }, { sub: 'old', iss: 'https://old' }],
    },
  ])('$name', ({ input, expect: expected }) => {
    const actors = actorsOutermostFirst(input);
    expect(actors).toEqual(expected);
    actors.forEach((a, i) => expect(Object.keys(a).sort()).toEqual(Object.keys(expected[i]!).sort()));
  });
});

describe('attested_by (anchor attestation label)', () => {
  it('nestActor records the actor attestation; the chain keeps it; the audit lists it', () => {
    const prior = { sub: 'agent-1', iss: 'https://idp', attested_by: 'github-actions' };
    const act = nestActor({ sub: 'agent-2', iss: 'https://sts', claims: {}, attestedBy: 'spiffe' }, prior);
    expect(act).toEqual({ sub: 'agent-2', iss: 'https://sts', attested_by: 'spiffe', act: prior });
    expect(parseActChain(act, 5)).toEqual({ ok: true, act });
    expect(actorsOutermostFirst(act)).toEqual([
      { sub: 'agent-2', iss: 'https://sts', attested_by: 'spiffe' },
      { sub: 'agent-1', iss: 'https://idp', attested_by: 'github-actions' },
    ]);
  });

  it('without attestation no attested_by member appears', () => {
    expect(nestActor({ sub: 'a', iss: 'https://i', claims: {} }, undefined)).toEqual({ sub: 'a', iss: 'https://i' });
  });

  it('a non-string attested_by in a presented chain is refused', () => {
    expect(parseActChain({ sub: 'a', attested_by: 42 }, 5)).toEqual({
      ok: false,
      reason: 'has a non-string attested_by',
    });
  });
});
