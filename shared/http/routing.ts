import { AppError, MethodNotAllowedError, ValidationError } from '../domain/errors.js';
import type { BoundRoute } from './route.js';

interface CompiledRoute {
  bound: BoundRoute;
  pattern: RegExp;
  paramNames: string[];
}

export interface MatchedRoute {
  bound: BoundRoute;
  rawParams: Record<string, string>;
}

/** A route table: each contract path (`/v1/jobs/{jobId}`) compiled once per container. */
export class RouteTable {
  private readonly routes: CompiledRoute[];

  constructor(routes: BoundRoute[]) {
    this.routes = routes.map(compile);
  }

  /** 404 for a path no route has; 405 (with the methods it has) for a known path and another method. */
  match(method: string, path: string): MatchedRoute {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.bound.contract.method !== method) {
        allowed.push(route.bound.contract.method);
        continue;
      }
      const rawParams: Record<string, string> = {};
      route.paramNames.forEach((name, i) => {
        rawParams[name] = decodePathSegment(name, match[i + 1] ?? '');
      });
      return { bound: route.bound, rawParams };
    }
    if (allowed.length > 0) throw new MethodNotAllowedError(method, path, allowed);
    throw new AppError(404, 'not_found', `No route for ${method} ${path}`);
  }
}

function compile(bound: BoundRoute): CompiledRoute {
  const paramNames: string[] = [];
  const source = bound.contract.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}|\{(\w+)\}/g, (_m, a, b) => {
    paramNames.push(a ?? b);
    return '([^/]+)';
  });
  return { bound, pattern: new RegExp(`^${source}/?$`), paramNames };
}

/** A segment that is not valid percent-encoding (`%E0%A4%A`) is the caller's mistake: 400, not a URIError's 500. */
function decodePathSegment(name: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError([{ path: name, message: 'is not valid percent-encoding' }]);
  }
}
