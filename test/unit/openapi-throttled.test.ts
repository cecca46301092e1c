import { describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import { buildOpenApiDocument } from '../../shared/contract/openapi.js';

type Operation = { operationId: string; responses: Record<string, { headers?: Record<string, { schema: { type: string } }>; content?: unknown }> };

describe('the OpenAPI document on throttling', () => {
  const document = buildOpenApiDocument() as { paths: Record<string, Record<string, Operation>> };
  const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));

  it('documents 429 with its Retry-After header and the error body on every route (every route can be throttled)', () => {
    expect(operations.map((o) => o.operationId).sort()).toEqual(allRoutes.map((r) => r.operationId).sort());
    for (const operation of operations) {
      const throttled = operation.responses['429'];
      expect(throttled, operation.operationId).toBeDefined();
      expect(throttled?.headers?.['Retry-After']?.schema.type, operation.operationId).toBe('integer');
      expect(throttled?.content, operation.operationId).toHaveProperty(['application/json']);
    }
  });
});
