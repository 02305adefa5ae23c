// Hash routing (#/clones/x): the engine serves index.html at /, and hash routes never reach it.
import { useEffect, useState } from 'react';

export type Route =
  | { name: 'dashboard' }
  | { name: 'create'; snapshot?: string; branch?: string }
  | { name: 'clone'; id: string }
  | { name: 'snapshot'; id: string }
  | { name: 'branches' }
  | { name: 'branch'; id: string }
  | { name: 'logs' }
  | { name: 'notfound'; path: string };

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  const params = new URLSearchParams(query);
  if (parts.length === 0) return { name: 'dashboard' };
  if (parts[0] === 'clones' && parts.length === 2 && parts[1] === 'new') {
    return { name: 'create', snapshot: params.get('snapshot') ?? undefined, branch: params.get('branch') ?? undefined };
  }
  if (parts[0] === 'branches' && parts.length === 1) return { name: 'branches' };
  if (parts[0] === 'branches' && parts.length === 2) return { name: 'branch', id: parts[1] };
  if (parts[0] === 'clones' && parts.length === 2) return { name: 'clone', id: parts[1] };
  if (parts[0] === 'snapshots' && parts.length === 2) return { name: 'snapshot', id: parts[1] };
  if (parts[0] === 'logs' && parts.length === 1) return { name: 'logs' };
  return { name: 'notfound', path };
}

export function href(route: Route): string {
  switch (route.name) {
    case 'dashboard':
      return '#/';
    case 'create': {
      const params = new URLSearchParams();
      if (route.snapshot) params.set('snapshot', route.snapshot);
      if (route.branch) params.set('branch', route.branch);
      const query = params.toString();
      return query ? `#/clones/new?${query}` : '#/clones/new';
    }
    case 'clone':
      return `#/clones/${encodeURIComponent(route.id)}`;
    case 'snapshot':
      return `#/snapshots/${encodeURIComponent(route.id)}`;
    case 'branches':
      return '#/branches';
    case 'branch':
      return `#/branches/${encodeURIComponent(route.id)}`;
    case 'logs':
      return '#/logs';
    case 'notfound':
      return `#${route.path}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route).slice(1);
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
