import type { Clone, Snapshot } from '../api';
import { ErrorMessage, Spinner, StatusBadge } from '../components/common';
import { useApp } from '../context';
import { formatBytes, formatTime } from '../format';
import { usePolling } from '../hooks';
import { href } from '../router';

export function SnapshotPage({ id }: { id: string }) {
  const { client } = useApp();
  const data = usePolling<{ snapshot: Snapshot | undefined; clones: Clone[] }>(
    async () => {
      const [snapshots, clones] = await Promise.all([client.snapshots(), client.clones()]);
      return { snapshot: snapshots.find((s) => s.id === id), clones: clones.filter((c) => c.snapshot?.id === id) };
    },
    () => 5000,
    [client, id],
  );
  const snapshot = data.data?.snapshot;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Snapshot</h1>
        <a href={href({ name: 'dashboard' })}>Back to dashboard</a>
      </div>
      {data.loading ? (
        <Spinner label="Loading the snapshot…" />
      ) : !data.data ? (
        <ErrorMessage error={data.error} title="Cannot load the snapshot:" onRetry={data.refresh} />
      ) : !snapshot ? (
        <div className="alert alert-error" role="alert">
          There is no snapshot "{id}" (it may have been deleted). <a href={href({ name: 'dashboard' })}>See the snapshots that exist.</a>
        </div>
      ) : (
        <>
          {data.error ? <ErrorMessage error={data.error} title="Live updates paused:" /> : null}
          <section className="card" aria-labelledby="snapshot-title">
            <h2 id="snapshot-title">
              <code>{snapshot.id}</code>
            </h2>
            <dl className="facts">
              <dt>Data state time</dt>
              <dd>{formatTime(snapshot.dataStateAt)}</dd>
              <dt>Created</dt>
              <dd>{formatTime(snapshot.createdAt)}</dd>
              <dt>Pool</dt>
              <dd>{snapshot.pool}</dd>
              <dt>Logical size</dt>
              <dd>{formatBytes(snapshot.logicalSize)}</dd>
              <dt>Physical size</dt>
              <dd>{formatBytes(snapshot.physicalSize)}</dd>
              <dt>Clones</dt>
              <dd>{snapshot.numClones}</dd>
            </dl>
            <a className="btn btn-primary" href={href({ name: 'create', snapshot: snapshot.id })}>
              Create clone from this snapshot
            </a>
          </section>
          <section className="card" aria-labelledby="snapshot-clones-title">
            <h2 id="snapshot-clones-title">Its clones</h2>
            {data.data.clones.length === 0 ? (
              <p className="empty">No clone uses this snapshot.</p>
            ) : (
              <ul className="plain-list">
                {data.data.clones.map((c) => (
                  <li key={c.id}>
                    <a href={href({ name: 'clone', id: c.id })}>{c.id}</a> <StatusBadge code={c.status.code} message={c.status.message} />{' '}
                    <span className="muted">
                      port {c.db.port || '—'}, user {c.db.username}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </div>
  );
}
