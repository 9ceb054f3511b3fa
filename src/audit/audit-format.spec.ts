import { describe, expect, it } from '@jest/globals';
import { formatKeyValue, kvValue } from './audit-format.js';
import type { AuditRecord } from './audit-record.js';

/** Splits a key=value line back into fields, as a log parser would (quotes and backslash escapes). */
function parse(line: string): { ts: string; fields: Array<[string, string]> } {
  const [ts, rest] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
  const fields: Array<[string, string]> = [];
  const pattern = /([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^ "]+))(?: |$)/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(rest)) !== null) {
    const value = match[2] !== undefined ? JSON.parse(`"${match[2]}"`) : match[3]!;
    fields.push([match[1]!, value as string]);
  }
  expect(pattern.lastIndex === 0 ? rest.length : pattern.lastIndex).toBe(rest.length);
  return { ts, fields };
}

describe('AUDIT_FORMAT=kv', () => {
  it('writes the issued line operators grep, with the whole actor chain outermost first', () => {
    const line = formatKeyValue({
      ts: '2026-05-10T22:13:01.000Z',
      event: 'token.issued',
      outcome: 'issued',
      subject: { sub: 'u_marwan', iss: 'https://idp.example' },
      actors: [
        { sub: 'spiffe://prod/agent/code-reviewer/v3', attested_by: 'github-oidc' },
        { sub: 'spiffe://prod/orchestrator' },
      ],
      client_id: 'reviewer',
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: ['api.github.com'],
      scope: 'read:repo write:issues',
      ttl: 600,
      exp: 1778451781,
      jti: 'c13ef87e',
      latency_ms: 1.25,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(line).toBe(
      '2026-05-10T22:13:01.000Z event=token.issued outcome=issued principal=u_marwan principal_iss=https://idp.example ' +
        'acting_as=spiffe://prod/agent/code-reviewer/v3,spiffe://prod/orchestrator attestation=github-oidc,- ' +
        'client=reviewer grant=token-exchange aud=api.github.com scope="read:repo write:issues" ttl=600s ' +
        'exp=1778451781 jti=c13ef87e latency=1.25ms trace_id=4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it("names each actor's issuer and the issued principal's, as the JSON line does: a sub alone is no party", () => {
    const line = formatKeyValue({
      ts: '2026-05-10T22:13:01.000Z',
      event: 'token.issued',
      subject: { sub: 'alice', iss: 'https://idp.example' },
      actors: [
        { sub: 'agent-1', iss: 'https://partner.example' },
        { sub: 'agent-1', iss: 'https://idp.example' },
        { sub: 'legacy' },
      ],
      issued_subject: { sub: 'u_alice', iss: 'https://sts.example' },
    });
    expect(parse(line).fields).toEqual([
      ['event', 'token.issued'],
      ['principal', 'alice'],
      ['principal_iss', 'https://idp.example'],
      ['acting_as', 'agent-1,agent-1,legacy'],
      ['acting_as_iss', 'https://partner.example,https://idp.example,-'],
      ['issued_principal', 'u_alice'],
      ['issued_principal_iss', 'https://sts.example'],
    ]);
  });

  it('writes the lineage of an issued token and what a cascade revoked', () => {
    expect(
      formatKeyValue({
        ts: '2026-05-10T22:13:01.000Z',
        event: 'token.issued',
        jti: 'c3',
        parent_jti: ['b2', 'root:Qm3k'],
      }),
    ).toBe('2026-05-10T22:13:01.000Z event=token.issued jti=c3 parent_jti=b2,root:Qm3k');
    expect(
      formatKeyValue({
        ts: '2026-05-10T22:13:02.000Z',
        event: 'token.revoked',
        key: 'sub:Zx9',
        revoked_by: 'operator',
        operator: 'ops@host',
        descendants_revoked: 300,
      }),
    ).toBe(
      '2026-05-10T22:13:02.000Z event=token.revoked key=sub:Zx9 revoked_by=operator operator=ops@host descendants_revoked=300',
    );
  });

  it('keeps the status of a request refused before any route, and whether a vault disconnect revoked upstream', () => {
    expect(
      formatKeyValue({
        ts: '2026-05-10T22:13:01.000Z',
        event: 'http.refused',
        outcome: 'refused',
        request_id: 'r1',
        client_ip: '203.0.113.7',
        status: 431,
        error: 'invalid_request',
        reason: 'request headers too large (HPE_HEADER_OVERFLOW)',
      }),
    ).toBe(
      '2026-05-10T22:13:01.000Z event=http.refused outcome=refused status=431 error=invalid_request ' +
        'reason="request headers too large (HPE_HEADER_OVERFLOW)" client_ip=203.0.113.7 request_id=r1',
    );
    expect(
      formatKeyValue({
        ts: '2026-05-10T22:13:01.000Z',
        event: 'vault.disconnect',
        outcome: 'disconnected',
        client_id: 'user-app',
        connection: 'github',
        upstream_revoked: false,
      }),
    ).toBe(
      '2026-05-10T22:13:01.000Z event=vault.disconnect outcome=disconnected client=user-app connection=github upstream_revoked=false',
    );
  });

  it('drops no field of the record: whether the client authenticated, the token types, the outcome', () => {
    // Required<>: a field added to AuditRecord fails typecheck here until the key=value form writes it.
    const record: Required<Omit<AuditRecord, 'started'>> = {
      request_id: 'r1',
      client_ip: '203.0.113.7',
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: 'reviewer',
      client_authenticated: false,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject: { sub: 'alice', iss: 'https://idp.example' },
      actors: [{ sub: 'agent-1' }],
      mode: 'delegation',
      assertion_type: 'urn:ietf:params:oauth:token-type:saml2',
      audience: ['api'],
      resource: ['https://mcp.example.com'],
      scope: 'read',
      ttl: 300,
      jti: 'j1',
      parent_jti: ['root:Qm3k'],
      issued_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      rule: 'corp/agents',
      issued_subject: { sub: 'u_alice' },
      dpop_jkt: 'jkt1',
      connection: 'github',
      user_agent: 'agent-sdk/2.1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      anchor: 'corp',
      exp: 1778451781,
    };
    const { fields } = parse(
      formatKeyValue({ ts: '2026-05-10T22:13:01.000Z', event: 'token.refused', outcome: 'refused', ...record }),
    );
    expect(fields).toEqual([
      ['event', 'token.refused'],
      ['outcome', 'refused'],
      ['principal', 'alice'],
      ['principal_iss', 'https://idp.example'],
      ['acting_as', 'agent-1'],
      ['issued_principal', 'u_alice'],
      ['client', 'reviewer'],
      ['client_authenticated', 'false'],
      ['grant', 'token-exchange'],
      ['subject_token_type', 'access_token'],
      ['actor_token_type', 'jwt'],
      ['assertion_type', 'saml2'],
      ['issued_token_type', 'id-jag'],
      ['mode', 'delegation'],
      ['anchor', 'corp'],
      ['rule', 'corp/agents'],
      ['aud', 'api'],
      ['resource', 'https://mcp.example.com'],
      ['scope', 'read'],
      ['ttl', '300s'],
      ['exp', '1778451781'],
      ['jti', 'j1'],
      ['parent_jti', 'root:Qm3k'],
      ['dpop_jkt', 'jkt1'],
      ['connection', 'github'],
      ['client_ip', '203.0.113.7'],
      ['user_agent', 'agent-sdk/2.1'],
      ['trace_id', '4bf92f3577b34da6a3ce929d0e0e4736'],
      ['request_id', 'r1'],
    ]);
  });

  it('writes a refusal with its error, step and quoted reason', () => {
    const line = formatKeyValue({
      ts: '2026-05-10T22:13:01.000Z',
      event: 'token.refused',
      client_id: 'reviewer',
      error: 'invalid_grant',
      step: 'token_validation',
      reason: 'subject_token has expired',
    });
    expect(line).toBe(
      '2026-05-10T22:13:01.000Z event=token.refused client=reviewer error=invalid_grant step=token_validation reason="subject_token has expired"',
    );
  });

  it.each([
    ['a newline', 'alice\n2026-01-01T00:00:00.000Z event=token.issued principal=root'],
    ['a quote and a field', 'alice" principal=root x="'],
    ['an equals sign', 'principal=root'],
    ['a backslash before the quote', 'alice\\" principal=root'],
    ['a carriage return', 'alice\rprincipal=root'],
    ['Unicode line separators and bidi overrides', 'alice\u2028principal=root\u202e'],
    ['C1 controls and DEL', 'alice\u0085\u007f'],
    ['an empty value', ''],
  ])('a hostile value with %s stays one value on one line', (_case, hostile) => {
    const line = formatKeyValue({
      ts: '2026-05-10T22:13:01.000Z',
      event: 'token.refused',
      subject: { sub: hostile },
      actors: [{ sub: `${hostile},x` }],
      user_agent: hostile,
    });
    expect(line).not.toMatch(/[\n\r\u0085\u2028\u2029\u202e\u007f]/);
    const { fields } = parse(line);
    expect(fields).toEqual([
      ['event', 'token.refused'],
      ['principal', hostile],
      ['acting_as', `${hostile.replace(/[\\,]/g, '\\$&')}\\,x`],
      ['user_agent', hostile],
    ]);
  });

  it('leaves plain printable values bare and quotes everything else', () => {
    expect(kvValue('api.github.com')).toBe('api.github.com');
    expect(kvValue('read:repo write:issues')).toBe('"read:repo write:issues"');
    expect(kvValue('café')).toBe('"café"');
    expect(kvValue('a\tb')).toBe('"a\\tb"');
  });
});
