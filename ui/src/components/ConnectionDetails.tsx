import { useState } from 'react';
import type { Clone } from '../api';
import { jdbcUrl, psqlCommand } from '../format';
import { CopyButton, CopyLine } from './common';

/** Host, port, user, database, and ready-to-copy psql and JDBC strings. */
export function ConnectionDetails({ clone, password }: { clone: Clone; password?: string }) {
  const [showPassword, setShowPassword] = useState(false);
  if (!clone.db.port) return <p className="muted">The clone has no port yet.</p>;
  return (
    <div className="connection">
      <dl className="facts facts-compact">
        <dt>Host</dt>
        <dd>
          <code>{clone.db.host}</code>
        </dd>
        <dt>Port</dt>
        <dd>
          <code>{clone.db.port}</code>
        </dd>
        <dt>User</dt>
        <dd>
          <code>{clone.db.username}</code>
          {clone.db.restricted ? <span className="muted"> (restricted)</span> : null}
        </dd>
        <dt>Database</dt>
        <dd>
          <code>{clone.db.dbName}</code>
        </dd>
        <dt>Password</dt>
        <dd>
          {password ? (
            <span className="password-row">
              <code data-testid="password">{showPassword ? password : '•'.repeat(Math.min(password.length, 12))}</code>
              <button type="button" className="btn btn-small" onClick={() => setShowPassword((v) => !v)} aria-pressed={showPassword}>
                {showPassword ? 'Hide' : 'Show'}
              </button>
              <CopyButton text={password} description="Copy password" />
            </span>
          ) : (
            <span className="muted">the one chosen when the clone was created (never stored by the engine)</span>
          )}
        </dd>
      </dl>
      <CopyLine label="psql" text={psqlCommand(clone)} />
      <CopyLine label="JDBC" text={jdbcUrl(clone)} />
    </div>
  );
}
