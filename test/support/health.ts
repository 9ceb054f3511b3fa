import { expect } from '@jest/globals';

/** GET /health/ready at `baseUrl`: the status and the parsed body. */
export async function readiness(baseUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/health/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Asserts that the instance at `baseUrl` is ready, uncached: all of its `anchors` trust anchors usable,
 * and this replay store (by default the in-memory one).
 */
export async function expectReady(
  baseUrl: string,
  anchors: number,
  replayStore: Record<string, unknown> = { store: 'memory', status: 'up' },
): Promise<void> {
  const response = await fetch(`${baseUrl}/health/ready`);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect({ status: response.status, body: await response.json() }).toEqual({
    status: 200,
    body: { status: 'ready', replay_store: replayStore, trust_anchors: { usable: anchors, configured: anchors } },
  });
}
