import { describe, expect, it } from '@jest/globals';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditTrail } from '../audit/audit-trail.js';
import { InvalidRequest } from '../oauth/oauth-error.js';
import { OAuthExceptionFilter } from './oauth-exception.filter.js';

/** What the filter sends for `exception` on an unaudited route. */
function answer(exception: unknown): { status?: number; body?: unknown } {
  const sent: { status?: number; body?: unknown } = {};
  const reply = {
    sent: false,
    code(status: number) {
      sent.status = status;
      return reply;
    },
    headers: () => reply,
    type: () => reply,
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const request = { method: 'POST', url: '/oauth/token', headers: {}, raw: { socket: { destroyed: false } } };
  new OAuthExceptionFilter({} as AuditTrail).respond(
    exception,
    request as unknown as FastifyRequest,
    reply as unknown as FastifyReply,
  );
  return sent;
}

describe('OAuthExceptionFilter', () => {
  it('sends error_description in RFC 6749 §5.2 characters: " as \', anything else outside as ?', () => {
    expect(answer(new InvalidRequest('subject_token typ "a\\b\u0001é\r\n😀" is not accepted'))).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: "subject_token typ 'a?b?????' is not accepted" },
    });
  });

  it('sends a conforming description unchanged', () => {
    expect(answer(new InvalidRequest("audience not allowed for this client's ID-JAGs: 'https://x.example'"))).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: "audience not allowed for this client's ID-JAGs: 'https://x.example'",
      },
    });
  });
});
