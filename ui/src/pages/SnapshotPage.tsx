import { Fragment, useId, useState } from 'react';
import type { Clone, Snapshot } from '../api';
import { BusyButton, ErrorMessage, Spinner, StatusBadge } from '../components/common';
import { DeleteSnapshotDialog } from '../components/SnapshotDialogs';
import { SnapshotProtectionForm } from '../components/SnapshotProtection';
import { useApp } from '../context';
import { formatBytes, formatTime } from '../format';
import { usePolling } from '../hooks';
import { href, navigate } from '../router';

/** Why the snapshot cannot be deleted: the clones that must be destroyed or reset first. */
function InUseReason({ id, count, clones }: { id: string; count: number; clones: Clone[] }) {
  const names =
    clones.length > 0 ? (
      <>
        {clones.length === 1 ? 'Clone ' : 'Clones '}
        {clones.map((c, i) => (
          <Fragment key={c.id}>
            {i > 0 ? ', ' : null}
            <a href={href({ name: 'clone', id: c.id })}>{c.id}</a>
          </Fragment>
        ))}
      </>
    ) : (
      `${count} clone${count === 1 ? '' : 's'}`
    );
  const several = (clones.length > 0 ? clones.length : count) > 1;
  return (
    <p id={id} className="muted">
      {names} {several ? 'use' : 'uses'} this snapshot, so it cannot be deleted: destroy {several ? 'them' : 'it'} or reset{' '}
      {several ? 'them' : 'it'} to another snapshot first.
    </p>
  );
}

export function SnapshotPage({ id }: { id: string }) {
  const { client } = useApp();
  const [confirming, setConfirming] = useState(false);
  const reasonId = useId();
  const [override, setOverride] = useState<Snapshot | null>(null);
  const data = usePolling<{ snapshot: Snapshot | undefined; clones: Clone[]; max: number }>(
    async () => {
      // The protection cap comes from the status; without it the engine still refuses a longer one.
      const [snapshots, clones, status] = await Promise.all([client.snapshots(), client.clones(), client.status().catch(() => null)]);
      setOverride(null);
      return {
        snapshot: snapshots.find((s) => s.id === id),
        clones: clones.filter((c) => c.snapshot?.id === id),
        max: status?.cloning.protectionMaxDurationMinutes ?? 0,
      };
    },
    () => 5000,
    [client, id],
  );
  const snapshot = override ?? data.data?.snapshot;
  const users = data.data?.clones ?? [];
  const inUse = !!snapshot && (snapshot.numClones > 0 || users.length > 0);
  const isProtected = Boolean(snapshot?.protected);
  const blocked = inUse || isProtected;
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
              {snapshot.branch ? (
                <>
                  <dt>Branch</dt>
                  <dd>
                    <a href={href({ name: 'branch', id: snapshot.branch })}>{snapshot.branch}</a>
                  </dd>
                </>
              ) : null}
              {snapshot.message ? (
                <>
                  <dt>Message</dt>
                  <dd data-testid="snapshot-message">{snapshot.message}</dd>
                </>
              ) : null}
            </dl>
            <div className="actions-row">
              <a className="btn btn-primary" href={href({ name: 'create', snapshot: snapshot.id })}>
                Create clone from this snapshot
              </a>
              <BusyButton variant="danger" onClick={() => setConfirming(true)} disabled={blocked} aria-describedby={blocked ? reasonId : undefined}>
                Delete snapshot…
              </BusyButton>
            </div>
            {inUse ? (
              <InUseReason id={reasonId} count={snapshot.numClones} clones={users} />
            ) : isProtected ? (
              <p id={reasonId} className="muted">
                The snapshot is protected, so it cannot be deleted: remove its protection first.
              </p>
            ) : null}
          </section>
          <section className="card" aria-labelledby="snapshot-protection-title">
            <h2 id="snapshot-protection-title">Protection</h2>
            <SnapshotProtectionForm
              key={`${snapshot.protected}-${snapshot.protectedTill ?? ''}`}
              snapshot={snapshot}
              max={data.data.max}
              onUpdated={(s) => setOverride(s)}
            />
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
          {confirming && (
            <DeleteSnapshotDialog
              snapshot={snapshot}
              onClose={() => setConfirming(false)}
              onDeleted={() => navigate({ name: 'dashboard' })}
              onRefused={(error) => {
                if (error.conflict) data.refresh(); // show the clones that use it now
              }}
            />
          )}
        </>
      )}
    </div>
  );
}
