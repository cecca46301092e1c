import { useEffect, useState } from 'preact/hooks';

/** Hash routes keep the console a set of static files: any CDN serves it, and deep links need no rewrites. */
export type Route =
  | { page: 'dashboard' }
  | { page: 'factories' }
  | { page: 'factory'; factoryId: string }
  | { page: 'job'; jobId: string }
  | { page: 'programmers' }
  | { page: 'publish'; factoryId?: string }
  | { page: 'image'; imageId: string }
  | { page: 'audit' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (parts.length === 0 || (first === 'dashboard' && parts.length === 1)) return { page: 'dashboard' };
  if (first === 'factories' && parts.length === 1) return { page: 'factories' };
  if (first === 'factories' && second && parts.length === 2) return { page: 'factory', factoryId: second };
  if (first === 'factories' && second && third === 'publish' && parts.length === 3) return { page: 'publish', factoryId: second };
  if (first === 'jobs' && second && parts.length === 2) return { page: 'job', jobId: second };
  if (first === 'programmers' && parts.length === 1) return { page: 'programmers' };
  if (first === 'images' && second === 'new' && parts.length === 2) return { page: 'publish' };
  if (first === 'images' && second && parts.length === 2) return { page: 'image', imageId: second };
  if (first === 'audit' && parts.length === 1) return { page: 'audit' };
  return { page: 'not-found', path };
}

export const href = {
  dashboard: () => '#/',
  factories: () => '#/factories',
  factory: (factoryId: string) => `#/factories/${encodeURIComponent(factoryId)}`,
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
  programmers: () => '#/programmers',
  publish: (factoryId?: string) => (factoryId ? `#/factories/${encodeURIComponent(factoryId)}/publish` : '#/images/new'),
  image: (imageId: string) => `#/images/${encodeURIComponent(imageId)}`,
  audit: () => '#/audit',
};

export interface NavEntry {
  label: string;
  href: string;
  /** The pages that light this entry up as the current one. */
  pages: readonly Route['page'][];
}

/**
 * The main navigation, in order. A new page is one entry here, one case in `parseRoute` and one
 * in the app's page switch.
 */
export const NAV: readonly NavEntry[] = [
  { label: 'Dashboard', href: href.dashboard(), pages: ['dashboard'] },
  { label: 'Factories', href: href.factories(), pages: ['factories', 'factory', 'job'] },
  { label: 'Programmers', href: href.programmers(), pages: ['programmers'] },
  { label: 'Publish image', href: href.publish(), pages: ['publish', 'image'] },
  { label: 'Audit trail', href: href.audit(), pages: ['audit'] },
];

export function titleOf(route: Route): string {
  const titles: Record<Route['page'], string> = {
    dashboard: 'Dashboard',
    factories: 'Factories',
    factory: 'Factory',
    job: 'Job',
    programmers: 'Programmers',
    publish: 'Publish an image',
    image: 'Image',
    audit: 'Audit trail',
    'not-found': 'Not found',
  };
  return titles[route.page];
}

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
