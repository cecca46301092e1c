import { useEffect, useState } from 'preact/hooks';

/** Hash routes keep the console a set of static files: any CDN serves it, and deep links need no rewrites. */
export type Route =
  | { page: 'factories' }
  | { page: 'factory'; factoryId: string }
  | { page: 'job'; jobId: string }
  | { page: 'programmers' }
  | { page: 'audit' }
  | { page: 'people' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second] = parts;
  if (parts.length === 0 || (first === 'factories' && parts.length === 1)) return { page: 'factories' };
  if (first === 'factories' && second && parts.length === 2) return { page: 'factory', factoryId: second };
  if (first === 'jobs' && second && parts.length === 2) return { page: 'job', jobId: second };
  if (first === 'programmers' && parts.length === 1) return { page: 'programmers' };
  if (first === 'audit' && parts.length === 1) return { page: 'audit' };
  if (first === 'people' && parts.length === 1) return { page: 'people' };
  return { page: 'not-found', path };
}

export const href = {
  factories: () => '#/factories',
  factory: (factoryId: string) => `#/factories/${encodeURIComponent(factoryId)}`,
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
  programmers: () => '#/programmers',
  audit: () => '#/audit',
  people: () => '#/people',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(to: string): void {
  location.hash = to;
}
