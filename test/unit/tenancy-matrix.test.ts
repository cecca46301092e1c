import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import { defineRoute } from '../../shared/contract/route.js';
import { CALLERS, ROUTE_FIXTURES, SAMPLE_IDS, SCOPED_CALLERS, buildMatrix, buildScopeMatrix, matrixProblems } from '../support/tenancy-matrix.js';

/** The e2e tenancy matrix (test/e2e/foundation-tenancy.test.ts) covers every route of the contract, or this fails. */
describe('the tenancy matrix', () => {
  it('has a fixture for every route, its path parameters, bodies and queries the contract accepts', () => {
    expect(matrixProblems(allRoutes)).toEqual([]);
  });

  it('has no fixture for a route that no longer exists', () => {
    const operationIds = new Set(allRoutes.map((route) => route.operationId));
    expect(Object.keys(ROUTE_FIXTURES).filter((id) => !operationIds.has(id))).toEqual([]);
  });

  it('reports a new route whose path parameter has no fixture, and one with a body but no fixture', () => {
    const base = { summary: 'new', access: { kind: 'account', minimumRole: 'viewer' }, successStatus: 200, response: z.unknown(), idempotent: true } as const;
    const widget = defineRoute({ ...base, operationId: 'getWidget', method: 'GET', path: '/v1/widgets/{widgetId}', params: z.object({ widgetId: z.string() }) });
    const pause = defineRoute({ ...base, operationId: 'pauseJob', method: 'POST', path: '/v1/jobs/{jobId}/pause', body: z.object({ reason: z.string() }) });
    expect(matrixProblems([widget])).toEqual(['getWidget: no entry in ROUTE_FIXTURES (test/support/tenancy-matrix.ts)']);
    expect(matrixProblems([pause])).toEqual(['pauseJob: takes a body, a variant has none']);
    ROUTE_FIXTURES.getWidget = [{}];
    try {
      expect(matrixProblems([widget])).toEqual(['getWidget: no fixture for path parameter {widgetId}']);
    } finally {
      delete ROUTE_FIXTURES.getWidget;
    }
  });

  it('asks every caller on every route: 401 without a valid credential, 403 for the wrong kind, 404 across accounts', () => {
    const cases = buildMatrix(allRoutes, SAMPLE_IDS);
    const variants = allRoutes.reduce((sum, route) => sum + (route.access.kind === 'public' ? 1 : ROUTE_FIXTURES[route.operationId]!.length), 0);
    expect(cases).toHaveLength(variants * CALLERS.length);
    const at = (caller: string, operationId: string) => cases.find((c) => c.caller === caller && c.route.operationId === operationId)!;
    expect(at('otherAdmin', 'getJob').expected).toEqual({ kind: 'refused', status: 404, code: 'not_found' });
    expect(at('otherAdmin', 'getJob').target).toBe('v1/jobs/job_sample');
    expect(at('otherProgrammer', 'getJob').expected).toMatchObject({ status: 403 });
    expect(at('otherAdmin', 'authorizeProgramming').expected).toMatchObject({ status: 403 });
    expect(at('otherProgrammer', 'releaseAuthorization').target).toBe('v1/device/authorizations/aut_sample/release');
    expect(at('disabledProgrammer', 'releaseAuthorization').target).toBe('v1/device/authorizations/aut_disabled/release');
    expect(at('disabledProgrammer', 'reportResults').expected).toEqual({ kind: 'refused', status: 409, code: 'programmer_disabled' });
    expect(at('revokedKey', 'listAudit').expected).toMatchObject({ status: 401 });
    expect(at('noToken', 'getSigningKeys').expected).toEqual({ kind: 'public' });
    expect(at('otherAdmin', 'createUploadUrl').target).toBe('v1/images/img_cloud/upload-url');
    // Every non-public route refuses every caller at least in one variant: `own` is only for the other account's own data.
    for (const c of cases.filter((c) => c.expected.kind === 'own')) expect(['otherAdmin', 'otherProgrammer']).toContain(c.caller);
  });

  it('asks keys limited to another factory of the same account on every route: 403 by role, 404 for that factory, shared sources readable', () => {
    const cases = buildScopeMatrix(allRoutes, SAMPLE_IDS);
    const variants = allRoutes.reduce((sum, route) => sum + (route.access.kind === 'public' ? 0 : ROUTE_FIXTURES[route.operationId]!.length), 0);
    expect(cases).toHaveLength(variants * SCOPED_CALLERS.length);
    const at = (caller: string, operationId: string, label?: string) => cases.find((c) => c.caller === caller && c.route.operationId === operationId && (!label || c.name.includes(label)))!;
    expect(at('viewerOfOtherFactory', 'getJob').expected).toEqual({ kind: 'refused', status: 404, code: 'not_found' });
    expect(at('viewerOfOtherFactory', 'pauseJob').expected).toEqual({ kind: 'refused', status: 403, code: 'forbidden' });
    expect(at('operatorOfOtherFactory', 'pauseJob').expected).toEqual({ kind: 'refused', status: 404, code: 'not_found' });
    expect(at('operatorOfOtherFactory', 'deleteJob').expected).toMatchObject({ status: 403 });
    expect(at('authorOfOtherFactory', 'deleteJob').expected).toMatchObject({ status: 404 });
    expect(at('authorOfOtherFactory', 'registerImage').expected).toMatchObject({ status: 404 });
    expect(at('authorOfOtherFactory', 'createSerialPool').expected).toMatchObject({ status: 403 });
    expect(at('authorOfOtherFactory', 'listJobs', "A's factory").expected).toMatchObject({ status: 404 });
    expect(at('authorOfOtherFactory', 'listJobs').expected).toEqual({ kind: 'refused', status: 404, code: 'not_found' });
    expect(cases.find((c) => c.route.operationId === 'listJobs' && !c.name.includes('factory'))?.expected).toEqual({ kind: 'own' });
    expect(at('viewerOfOtherFactory', 'getSerialPool').expected).toEqual({ kind: 'shared' });
    expect(at('authorOfOtherFactory', 'createApiKey').expected).toMatchObject({ status: 403 });
    expect(at('authorOfOtherFactory', 'authorizeProgramming').expected).toMatchObject({ status: 403 });
  });
});
