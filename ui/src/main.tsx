import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ErrorBoundary } from './ErrorBoundary';
import './styles.css';

// The engine serves this page for any non-API path; routes live in the hash (#/clones/x).
if (window.location.pathname !== '/' && window.location.pathname !== '/index.html') {
  window.history.replaceState(null, '', `/${window.location.hash}`);
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ErrorBoundary>
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
