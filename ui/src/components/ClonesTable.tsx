import { useState } from 'react';
import type { Clone, Snapshot } from '../api';
import { formatAgo, formatTime } from '../format';
import { href } from '../router';
import { statusInfo } from '../status';
import { DestroyDialog, ResetDialog } from './CloneDialogs';
import { CopyButton, StatusBadge } from './common';

export function ClonesTable({ clones, snapshots, now, onChanged }: { clones: Clone[]; snapshots: Snapshot[]; now: number; onChanged: () => void }) {
  const [dialog, setDialog] = useState<{ kind: 'reset' | 'destroy'; clone: Clone } | null>(null);
  if (clones.length === 0) {
    return (
      <p className="empty">
        No clones yet. <a href={href({ name: 'create' })}>Create the first one</a>: it takes about a second.
      </p>
    );
  }
  const sorted = [...clones].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  return (
    <>
      <div className="table-wrap">
        <table className="table table-cards" aria-label="Clones">
          <thead>
            <tr>
              <th scope="col">ID</th>
              <th scope="col">Status</th>
              <th scope="col">Port</th>
              <th scope="col">Created</th>
              <th scope="col">Snapshot</th>
              <th scope="col">Protected</th>
              <th scope="col">User</th>
              <th scope="col">Connection</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((clone) => {
              const info = statusInfo(clone.status.code);
              return (
                <tr key={clone.id} data-clone-id={clone.id}>
                  <th scope="row" data-label="ID">
                    <a href={href({ name: 'clone', id: clone.id })}>{clone.id}</a>
                  </th>
                  <td data-label="Status">
                    <StatusBadge code={clone.status.code} message={clone.status.message} />
                  </td>
                  <td data-label="Port">{clone.db.port || '—'}</td>
                  <td data-label="Created">
                    <time dateTime={clone.createdAt} title={formatTime(clone.createdAt)}>
                      {formatAgo(clone.createdAt, now)}
                    </time>
                  </td>
                  <td data-label="Snapshot">
                    {clone.snapshot?.id ? (
                      <a href={href({ name: 'snapshot', id: clone.snapshot.id })} title={clone.snapshot.id}>
                        {formatTime(clone.snapshot.dataStateAt)}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="Protected">{clone.protected ? (clone.protectedTill ? `until ${formatTime(clone.protectedTill)}` : 'yes') : 'no'}</td>
                  <td data-label="User">{clone.db.username || '—'}</td>
                  <td data-label="Connection" className="conn-cell">
                    {clone.db.connStr ? (
                      <span className="conn">
                        <code>{clone.db.connStr}</code>
                        <CopyButton text={clone.db.connStr} description={`Copy connection string of ${clone.id}`} />
                      </span>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="Actions" className="actions">
                    <button type="button" className="btn btn-small" disabled={info.transient} onClick={() => setDialog({ kind: 'reset', clone })} aria-label={`Reset clone ${clone.id}`}>
                      Reset
                    </button>
                    <button
                      type="button"
                      className="btn btn-small btn-danger-outline"
                      disabled={clone.status.code === 'DELETING'}
                      onClick={() => setDialog({ kind: 'destroy', clone })}
                      aria-label={`Destroy clone ${clone.id}`}
                    >
                      Destroy
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {dialog?.kind === 'reset' && (
        <ResetDialog
          clone={dialog.clone}
          snapshots={snapshots}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            onChanged();
          }}
        />
      )}
      {dialog?.kind === 'destroy' && (
        <DestroyDialog
          clone={dialog.clone}
          onClose={() => setDialog(null)}
          onUpdated={onChanged}
          onDestroyed={() => {
            setDialog(null);
            onChanged();
          }}
        />
      )}
    </>
  );
}
