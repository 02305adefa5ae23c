import { useEffect, useRef, useState } from 'react';
import { ApiError, type Clone, type Snapshot } from '../api';
import { DestroyDialog, ResetDialog } from '../components/CloneDialogs';
import { BusyButton, ErrorMessage, Spinner, StatusBadge } from '../components/common';
import { CommitForm } from '../components/CommitForm';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { ProtectionForm } from '../components/Protection';
import { useApp } from '../context';
import { formatAgo, formatBytes, formatSeconds, formatTime } from '../format';
import { useNow, usePolling } from '../hooks';
import { href } from '../router';
import { pollInterval, statusInfo } from '../status';

export function ClonePage({ id }: { id: string }) {
  const { client } = useApp();
  const now = useNow(1000);
  const [dialog, setDialog] = useState<'reset' | 'destroy' | null>(null);
  const [override, setOverride] = useState<Clone | null>(null);
  const [destroying, setDestroying] = useState(false);
  const [snapshots, setSnapshots] = useState<Snapshot[]>([]);
  const [limits, setLimits] = useState({ lease: 0, max: 0 });
  const headingRef = useRef<HTMLHeadingElement>(null);

  const polled = usePolling(
    () => client.clone(id),
    (data, error) => {
      if (error instanceof ApiError && error.notFound) return destroying ? null : 5000;
      if (destroying) return 500;
      return pollInterval(data?.status.code);
    },
    [client, id, destroying],
  );
  const gone = polled.error instanceof ApiError && polled.error.notFound;
  const clone = override ?? polled.data;
  useEffect(() => setOverride(null), [polled.data]);

  useEffect(() => {
    let cancelled = false;
    Promise.all([client.snapshots(), client.status()])
      .then(([list, status]) => {
        if (cancelled) return;
        setSnapshots([...list].sort((a, b) => (a.dataStateAt < b.dataStateAt ? 1 : -1)));
        setLimits({ lease: status.cloning.protectionLeaseDurationMinutes, max: status.cloning.protectionMaxDurationMinutes });
      })
      .catch(() => undefined); // the reset dialog then offers only "latest"
    return () => {
      cancelled = true;
    };
  }, [client]);

  if (gone) {
    return (
      <div className="page">
        <div className="page-head">
          <h1 ref={headingRef}>Clone {id}</h1>
        </div>
        <div className={`alert ${destroying ? 'alert-info' : 'alert-error'}`} role="status">
          {destroying ? `Clone ${id} has been destroyed.` : `There is no clone "${id}": ${polled.error instanceof Error ? polled.error.message : ''}`}
        </div>
        <p>
          <a href={href({ name: 'dashboard' })}>Back to the dashboard</a>
        </p>
      </div>
    );
  }
  if (!clone) {
    return (
      <div className="page">
        <div className="page-head">
          <h1>Clone {id}</h1>
        </div>
        {polled.loading ? <Spinner label="Loading the clone…" /> : <ErrorMessage error={polled.error} title="Cannot load the clone:" onRetry={polled.refresh} />}
      </div>
    );
  }

  const info = statusInfo(clone.status.code);
  const busy = info.transient || destroying;
  return (
    <div className="page">
      <div className="page-head">
        <h1 ref={headingRef}>
          Clone <code>{clone.id}</code>
        </h1>
        <a href={href({ name: 'dashboard' })}>Back to dashboard</a>
      </div>
      {polled.error ? <ErrorMessage error={polled.error} title="Live updates paused:" /> : null}
      <section className="card" aria-labelledby="clone-status-title">
        <h2 id="clone-status-title">Status</h2>
        <p className="status-line" aria-live="polite">
          <StatusBadge code={clone.status.code} message={clone.status.message} /> <span data-testid="status-message">{clone.status.message}</span>
        </p>
        {clone.status.code === 'FATAL' && (
          <div className="alert alert-error" role="alert">
            The clone failed: {clone.status.message}. Reset it to start again from a snapshot, or destroy it.
          </div>
        )}
        <dl className="facts">
          <dt>Snapshot</dt>
          <dd>
            {clone.snapshot?.id ? (
              <a href={href({ name: 'snapshot', id: clone.snapshot.id })}>
                <code>{clone.snapshot.id}</code>
              </a>
            ) : (
              '—'
            )}
          </dd>
          <dt>Data state time</dt>
          <dd data-testid="data-state-at">{formatTime(clone.snapshot?.dataStateAt)}</dd>
          <dt>Created</dt>
          <dd>
            {formatTime(clone.createdAt)} <span className="muted">({formatAgo(clone.createdAt, now)})</span>
          </dd>
          <dt>Diff size</dt>
          <dd>
            {formatBytes(clone.metadata.cloneDiffSize)} <span className="muted">written since the snapshot; the snapshot holds {formatBytes(clone.metadata.logicalSize)}</span>
          </dd>
          <dt>Cloning time</dt>
          <dd>{formatSeconds(clone.metadata.cloningTime)}</dd>
          <dt>Idle limit</dt>
          <dd>{clone.metadata.maxIdleMinutes ? `destroyed after ${clone.metadata.maxIdleMinutes} min without activity, unless protected` : 'none'}</dd>
          {clone.branch ? (
            <>
              <dt>Branch</dt>
              <dd>
                <a href={href({ name: 'branch', id: clone.branch })}>{clone.branch}</a>
              </dd>
            </>
          ) : null}
        </dl>
        <div className="actions-row">
          <BusyButton onClick={() => setDialog('reset')} disabled={busy} busy={clone.status.code === 'RESETTING'} busyLabel="Resetting…">
            Reset…
          </BusyButton>
          <BusyButton variant="danger" onClick={() => setDialog('destroy')} disabled={busy} busy={destroying || clone.status.code === 'DELETING'} busyLabel="Destroying…">
            Destroy…
          </BusyButton>
        </div>
      </section>
      <section className="card" aria-labelledby="conn-title">
        <h2 id="conn-title">Connection</h2>
        {!info.usable && (
          <p className="muted">The clone does not accept connections while its status is {info.label.toLowerCase()}.</p>
        )}
        {clone.db.port ? <ConnectionDetails clone={clone} /> : null}
      </section>
      <section className="card" aria-labelledby="commit-title">
        <h2 id="commit-title">Commit</h2>
        <CommitForm clone={clone} disabled={busy || !info.usable} onCommitted={() => polled.refresh()} />
      </section>
      <section className="card" aria-labelledby="protection-title">
        <h2 id="protection-title">Protection</h2>
        <ProtectionForm key={`${clone.protected}-${clone.protectedTill ?? ''}`} clone={clone} lease={limits.lease} max={limits.max} onUpdated={(c) => setOverride(c)} />
      </section>
      {dialog === 'reset' && (
        <ResetDialog
          clone={clone}
          snapshots={snapshots}
          onClose={() => setDialog(null)}
          onDone={(c) => {
            setDialog(null);
            setOverride(c);
            polled.refresh();
          }}
        />
      )}
      {dialog === 'destroy' && (
        <DestroyDialog
          clone={clone}
          onClose={() => setDialog(null)}
          onUpdated={(c) => setOverride(c)}
          onDestroyed={() => {
            setDialog(null);
            setDestroying(true);
          }}
        />
      )}
    </div>
  );
}
