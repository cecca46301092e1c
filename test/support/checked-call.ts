import { expect } from 'vitest';
import { type ApiResponse, call } from './api.js';

/**
 * `call`, plus the rule that holds for every request of the foundation tests: the API never
 * answers 5xx, and every error it shapes itself carries the contract's error body.
 */
export async function api<T = any>(method: string, route: string, options: Parameters<typeof call>[2] = {}): Promise<ApiResponse<T>> {
  const response = await call<T>(method, route, options);
  const where = `${method} ${route} → ${response.status} ${JSON.stringify(response.body)}`;
  expect(response.status, where).toBeLessThan(500);
  if (response.status >= 400 && !isGatewayUnauthorized(response)) {
    expect(response.headers.get('content-type'), where).toMatch(/^application\/json/);
    expect(response.body, where).toEqual({ error: expect.objectContaining({ code: expect.stringMatching(/^[a-z][a-z0-9_]*$/), message: expect.any(String) }) });
  }
  return response;
}

/** API Gateway's own 401 for a request without an Authorization header (README: HTTP APIs cannot shape it). */
function isGatewayUnauthorized(response: ApiResponse): boolean {
  return response.status === 401 && (response.body as { message?: string } | undefined)?.message === 'Unauthorized';
}

/**
 * Polls until a request answers `status`; returns the seconds it took from `since`. The
 * authorizer caches answers for 30 s, so a revoked credential may keep working that long;
 * meanwhile any answer but a 5xx is fine.
 */
export async function secondsUntilStatus(request: () => Promise<ApiResponse>, status: number, since: number, giveUpAfterSeconds: number): Promise<number> {
  for (;;) {
    const response = await request();
    const elapsed = (Date.now() - since) / 1000;
    if (response.status === status) return elapsed;
    if (elapsed > giveUpAfterSeconds) throw new Error(`still ${response.status} after ${elapsed.toFixed(1)} s, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
