import * as z from 'zod';
import { defineRoute } from './route.js';

export const Jwks = z
  .object({
    keys: z.array(
      z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(), alg: z.literal('ES256'), use: z.literal('sig') }),
    ),
  })
  .meta({ id: 'Jwks' });

export const getSigningKeys = defineRoute({
  operationId: 'getSigningKeys',
  method: 'GET',
  path: '/v1/signing-keys',
  summary: 'JWKS with the public key(s) that verify bindings and tickets: the binding root key and the ticket root key that certifies session keys',
  access: { kind: 'public' },
  successStatus: 200,
  response: Jwks,
  idempotent: true,
});

export const getOpenApi = defineRoute({
  operationId: 'getOpenApi',
  method: 'GET',
  path: '/v1/openapi.json',
  summary: 'This API, as an OpenAPI 3.1 document generated from the same schemas that validate requests',
  access: { kind: 'public' },
  successStatus: 200,
  response: z.record(z.string(), z.unknown()),
  idempotent: true,
});
