import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import { buildOpenApiDocument } from '../../shared/contract/openapi.js';
import { BAD_REQUEST_CODES } from '../../shared/contract/route.js';

/** Codes thrown where no HTTP route answers them: the image verifier runs on S3 events. */
const NOT_ANSWERED_BY_A_ROUTE = new Set(['image_verification_contended']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('409 codes', () => {
  it('every code the API functions throw is one some route documents (OpenAPI describes them per route)', () => {
    const thrown = new Set<string>();
    for (const file of [...sourceFiles('shared'), ...sourceFiles('functions')]) {
      for (const match of readFileSync(file, 'utf8').matchAll(/new ConflictError\(\s*'([a-z_]+)'/g)) thrown.add(match[1]!);
    }
    const documented = new Set(allRoutes.flatMap((route) => route.errors ?? []));
    const undocumented = [...thrown].filter((code) => !documented.has(code) && !NOT_ANSWERED_BY_A_ROUTE.has(code)).sort();
    expect(thrown.size).toBeGreaterThan(30);
    expect(undocumented).toEqual([]);
  });
});

describe('400 codes of their own', () => {
  it('are the BadRequestError codes the functions throw, documented under 400 and never under 409', () => {
    const thrown = new Set<string>();
    for (const file of [...sourceFiles('shared'), ...sourceFiles('functions')]) {
      for (const match of readFileSync(file, 'utf8').matchAll(/new BadRequestError\(\s*'([a-z_]+)'/g)) thrown.add(match[1]!);
    }
    expect([...thrown].sort()).toEqual([...BAD_REQUEST_CODES].sort());
    const paths = buildOpenApiDocument().paths as Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    const operations = Object.values(paths).flatMap((methods) => Object.values(methods));
    for (const code of BAD_REQUEST_CODES) {
      expect(operations.some((operation) => operation.responses['400']?.description.includes(code))).toBe(true);
      expect(operations.filter((operation) => operation.responses['409']?.description.includes(code))).toEqual([]);
    }
  });
});
