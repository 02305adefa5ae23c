import { useId, useState } from 'react';
import { ApiError, DblabClient } from '../api';
import { BusyButton } from '../components/common';

/** Asks for the Verification-Token and checks it against GET /api/status before keeping it. */
export function Login({ message, onLogin }: { message?: string; onLogin: (token: string) => void }) {
  const id = useId();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Enter the verification token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await new DblabClient(value).status();
      onLogin(value);
    } catch (e) {
      if (e instanceof ApiError && e.unauthorized) {
        setError('The engine refused this token: check it (server.verificationToken, or <data dir>/.dblab-engine/token) and try again.');
      } else {
        setError(`Cannot check the token: ${e instanceof Error ? e.message : String(e)}`);
      }
      setBusy(false);
    }
  };

  const shown = error ?? message;
  return (
    <main className="login" id="main">
      <form className="card login-card" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
        <h1 id={`${id}-title`}>
          <span className="logo" aria-hidden="true" /> dblab
        </h1>
        <p className="muted">Thin clones of PostgreSQL. Sign in with the engine's verification token.</p>
        {shown && (
          <div className="alert alert-error" role="alert">
            {shown}
          </div>
        )}
        <div className="field">
          <label htmlFor={`${id}-token`}>Verification token</label>
          <input
            id={`${id}-token`}
            name="token"
            type="password"
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoFocus
            disabled={busy}
            aria-invalid={Boolean(error)}
          />
          <div className="hint">Kept in this browser and sent as the Verification-Token header.</div>
        </div>
        <BusyButton type="submit" variant="primary" busy={busy} busyLabel="Checking token…">
          Sign in
        </BusyButton>
      </form>
    </main>
  );
}
