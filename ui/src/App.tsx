import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { DblabClient, loadToken, saveToken, setUnauthorizedHandler } from './api';
import { AppContext, type AppContextValue, type Notice } from './context';
import { BranchPage } from './pages/BranchPage';
import { BranchesPage } from './pages/Branches';
import { ClonePage } from './pages/ClonePage';
import { CreateClonePage } from './pages/CreateClone';
import { Dashboard } from './pages/Dashboard';
import { Login } from './pages/Login';
import { LogsPage } from './pages/LogsPage';
import { SnapshotPage } from './pages/SnapshotPage';
import { href, useRoute } from './router';

export const EXPIRED_MESSAGE = 'Your token was refused by the engine (wrong, changed or expired). Sign in again.';

export function App() {
  const [token, setToken] = useState(loadToken);
  const [loginMessage, setLoginMessage] = useState<string | undefined>();
  const [notices, setNotices] = useState<Notice[]>([]);
  const nextNotice = useRef(1);
  const route = useRoute();
  const mainRef = useRef<HTMLElement>(null);

  const logout = useCallback((message?: string) => {
    saveToken('');
    setToken('');
    setLoginMessage(message);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => logout(EXPIRED_MESSAGE));
    return () => setUnauthorizedHandler(null);
  }, [logout]);

  const notify = useCallback((text: string, kind: Notice['kind'] = 'info') => {
    const id = nextNotice.current++;
    setNotices((list) => [...list.slice(-2), { id, kind, text }]);
    setTimeout(() => setNotices((list) => list.filter((n) => n.id !== id)), 5000);
  }, []);

  const client = useMemo(() => new DblabClient(token), [token]);
  const context = useMemo<AppContextValue>(() => ({ client, logout, notify }), [client, logout, notify]);

  // Move focus to the page on navigation so keyboard and screen reader users start at the top.
  const routeKey = JSON.stringify(route);
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    mainRef.current?.focus();
    window.scrollTo?.(0, 0);
  }, [routeKey]);

  if (!token) {
    return (
      <Login
        message={loginMessage}
        onLogin={(value) => {
          saveToken(value);
          setLoginMessage(undefined);
          setToken(value);
        }}
      />
    );
  }

  let page;
  switch (route.name) {
    case 'dashboard':
      page = <Dashboard />;
      break;
    case 'create':
      page = <CreateClonePage key={`${route.snapshot ?? ''}@${route.branch ?? ''}`} initialSnapshot={route.snapshot} branch={route.branch} />;
      break;
    case 'branches':
      page = <BranchesPage />;
      break;
    case 'branch':
      page = <BranchPage key={route.id} id={route.id} />;
      break;
    case 'clone':
      page = <ClonePage key={route.id} id={route.id} />;
      break;
    case 'snapshot':
      page = <SnapshotPage key={route.id} id={route.id} />;
      break;
    case 'logs':
      page = <LogsPage />;
      break;
    default:
      page = (
        <div className="page">
          <h1>Page not found</h1>
          <p>
            There is no page at <code>{route.path}</code>. <a href={href({ name: 'dashboard' })}>Go to the dashboard.</a>
          </p>
        </div>
      );
  }

  return (
    <AppContext.Provider value={context}>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href({ name: 'dashboard' })}>
          <span className="logo" aria-hidden="true" /> dblab
        </a>
        <nav aria-label="Main">
          <a href={href({ name: 'dashboard' })} aria-current={route.name === 'dashboard' ? 'page' : undefined}>
            Dashboard
          </a>
          <a href={href({ name: 'create' })} aria-current={route.name === 'create' ? 'page' : undefined}>
            Create clone
          </a>
          <a href={href({ name: 'branches' })} aria-current={route.name === 'branches' || route.name === 'branch' ? 'page' : undefined}>
            Branches
          </a>
          <a href={href({ name: 'logs' })} aria-current={route.name === 'logs' ? 'page' : undefined}>
            Logs
          </a>
          <button type="button" className="btn btn-link topbar-signout" onClick={() => logout('You signed out.')}>
            Sign out
          </button>
        </nav>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {page}
      </main>
      <div className="notices" aria-live="polite">
        {notices.map((n) => (
          <div key={n.id} className={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
            {n.text}
          </div>
        ))}
      </div>
    </AppContext.Provider>
  );
}
