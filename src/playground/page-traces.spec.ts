import { describe, expect, it } from '@jest/globals';
import { PageTraces } from './page-traces.js';

const REF_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const REF_B = 'bbbbbbbbbbbbbbbbbbbbbbbb';

describe('PageTraces: a page sees the audit line of its own request, by its reference', () => {
  it('keeps the line of a bound request, and only of bound requests', () => {
    const traces = new PageTraces();
    expect(traces.bind('req-1', REF_A)).toBe(true);
    traces.record({ request_id: 'req-2', event: 'token.issued' });
    traces.record({ request_id: 'req-1', event: 'token.refused' });
    expect(traces.lineOf(REF_A)).toEqual({ request_id: 'req-1', event: 'token.refused' });
    expect(traces.lineOf(REF_B)).toBeUndefined();
  });

  it('binds a reference once: a later request presenting it is not shown under it', () => {
    const traces = new PageTraces();
    traces.bind('req-1', REF_A);
    traces.record({ request_id: 'req-1', n: 1 });
    expect(traces.bind('req-2', REF_A)).toBe(false);
    traces.record({ request_id: 'req-2', n: 2 });
    expect(traces.lineOf(REF_A)).toEqual({ request_id: 'req-1', n: 1 });
  });

  it('refuses references shorter than 128 bits or outside base64url', () => {
    const traces = new PageTraces();
    expect(traces.bind('req-1', 'short')).toBe(false);
    expect(traces.bind('req-1', `${'a'.repeat(23)}/`)).toBe(false);
    expect(traces.bind('req-1', 'a'.repeat(65))).toBe(false);
    expect(traces.size).toBe(0);
  });

  it('a request answered without a line is forgotten; a line arriving after it is not kept', () => {
    const traces = new PageTraces();
    traces.bind('req-1', REF_A);
    traces.release('req-1');
    traces.record({ request_id: 'req-1' });
    expect(traces.lineOf(REF_A)).toBeUndefined();
  });

  it('forgets lines after the time to live, and the oldest beyond the bound', () => {
    let now = 0;
    const traces = new PageTraces({ ttlMs: 1000, maxEntries: 2, now: () => now });
    traces.bind('req-1', REF_A);
    traces.record({ request_id: 'req-1' });
    now = 999;
    expect(traces.lineOf(REF_A)).toBeDefined();
    now = 1000;
    expect(traces.lineOf(REF_A)).toBeUndefined();

    traces.bind('req-2', REF_A);
    traces.bind('req-3', REF_B);
    traces.bind('req-4', 'cccccccccccccccccccccccc');
    expect(traces.size).toBe(2);
    traces.record({ request_id: 'req-2' });
    expect(traces.lineOf(REF_A)).toBeUndefined();
  });
});
