import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { framingProblem } from './request-framing.js';

/** A request as Node's parser hands it over: raw header lines, and the merged headers. */
function request(lines: [string, string][], httpVersion = '1.1'): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    // Node joins repeated Transfer-Encoding and Content-Encoding with ", " and keeps the first Host.
    headers[key] = key in headers && key !== 'host' ? `${headers[key]}, ${value}` : (headers[key] ?? value);
  }
  return { rawHeaders: lines.flat(), headers, httpVersion } as unknown as IncomingMessage;
}

function problem(lines: [string, string][], httpVersion?: string) {
  const error = framingProblem(request(lines, httpVersion));
  return error && { status: error.status, error: error.error, description: error.description, detail: error.detail };
}

describe('framingProblem', () => {
  it.each([
    ['a host name', [['Host', 'sts.example.com']]],
    ['a host and port', [['host', 'localhost:8080']]],
    ['an IPv6 literal and port', [['Host', '[::1]:8080']]],
    ['an empty Host (RFC 9112 §3.2: a target without authority)', [['Host', '']]],
    [
      'chunked',
      [
        ['Host', 'x'],
        ['Transfer-Encoding', 'Chunked'],
      ],
    ],
    [
      'identity content coding',
      [
        ['Host', 'x'],
        ['Content-Encoding', 'identity'],
      ],
    ],
  ] as [string, [string, string][]][])('lets %s through', (_name, lines) => {
    expect(problem(lines)).toBeUndefined();
  });

  it('lets an HTTP/1.0 request without Host through (RFC 9112 §3.2 asks it of HTTP/1.1)', () => {
    expect(problem([], '1.0')).toBeUndefined();
  });

  it.each([
    ['no Host', [], 'missing Host header', 'HTTP/1.1 without Host (RFC 9112 §3.2)'],
    [
      'two Host lines',
      [
        ['Host', 'a.example'],
        ['HOST', 'b.example'],
      ],
      'more than one Host header',
      '2 Host header lines (RFC 9112 §3.2)',
    ],
    [
      'a Host with userinfo',
      [['Host', 'user@evil.example']],
      'malformed Host header',
      'Host "user@evil.example" (RFC 9112 §3.2)',
    ],
    ['a Host with a space', [['Host', 'a b']], 'malformed Host header', 'Host "a b" (RFC 9112 §3.2)'],
    ['a Host with a path', [['Host', 'a/b']], 'malformed Host header', 'Host "a/b" (RFC 9112 §3.2)'],
    [
      'a transfer coding Node does not decode',
      [
        ['Host', 'x'],
        ['Transfer-Encoding', 'gzip, chunked'],
      ],
      'unsupported transfer coding: send the body chunked or with a Content-Length',
      'Transfer-Encoding "gzip, chunked" (RFC 9112 §6.1)',
    ],
    [
      'chunked twice',
      [
        ['Host', 'x'],
        ['Transfer-Encoding', 'chunked'],
        ['Transfer-Encoding', 'chunked'],
      ],
      'unsupported transfer coding: send the body chunked or with a Content-Length',
      'Transfer-Encoding "chunked, chunked" (RFC 9112 §6.1)',
    ],
    [
      'two Content-Type lines',
      [
        ['Host', 'x'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['content-type', 'application/json'],
      ],
      'more than one Content-Type header',
      '2 Content-Type header lines (RFC 9110 §8.3)',
    ],
    [
      'two Authorization lines',
      [
        ['Host', 'x'],
        ['Authorization', 'Basic YTpi'],
        ['authorization', 'Basic Yzpk'],
      ],
      'more than one Authorization header',
      '2 Authorization header lines (RFC 9110 §11.6.2)',
    ],
    [
      'a content coding',
      [
        ['Host', 'x'],
        ['Content-Encoding', 'gzip'],
      ],
      'unsupported content coding: send the body without Content-Encoding',
      'Content-Encoding "gzip" (RFC 9110 §8.4)',
    ],
  ] as [string, [string, string][], string, string][])(
    'refuses %s: 400 invalid_request',
    (_name, lines, description, detail) => {
      expect(problem(lines)).toEqual({ status: 400, error: 'invalid_request', description, detail });
      expect(framingProblem(request(lines))!.headers).toEqual({ connection: 'close' });
    },
  );

  it('bounds what the audit reason repeats of a header', () => {
    expect(problem([['Host', 'a b'.repeat(100)]])!.detail).toBe(
      `Host ${JSON.stringify('a b'.repeat(100).slice(0, 100))} (RFC 9112 §3.2)`,
    );
  });
});
