import { useState } from 'react';
import type { InstanceStatus, Snapshot } from '../api';
import { ClonesTable } from '../components/ClonesTable';
import { BusyButton, ErrorMessage, Spinner } from '../components/common';
import { DiskUsage } from '../components/DiskUsage';
import { dayKey, SnapshotCalendar } from '../components/SnapshotCalendar';
import { useApp } from '../context';
import { formatAgo, formatBytes, formatDuration, formatSeconds, formatTime, parseTime } from '../format';
import { useNow, usePolling } from '../hooks';
import { href } from '../router';
import { statusInfo } from '../status';

interface AlertLine {
  type: string;
  level: string;
  text: string;
}

// DLE's alerts object keyed by type; an engine before 2026-12 sent an array of messages.
function alertsList(alerts: InstanceStatus['retrieving']['alerts'] | string[] | null | undefined): AlertLine[] {
  if (Array.isArray(alerts)) return alerts.map((message) => ({ type: 'refresh_failed', level: 'error', text: String(message) }));
  if (!alerts || typeof alerts !== 'object') return [];
  return Object.entries(alerts).map(([type, alert]) => {
    const times = alert.count > 1 ? ` (${alert.count} times, last ${formatTime(alert.lastSeen)})` : alert.lastSeen ? ` (${formatTime(alert.lastSeen)})` : '';
    return { type, level: alert.level, text: `${alert.message || type}${times}` };
  });
}

function InstancePanel({ status, now }: { status: InstanceStatus; now: number }) {
  const started = parseTime(status.engine.startedAt);
  const r = status.retrieving;
  const alerts = alertsList(r.alerts);
  const tone = status.status.code === 'OK' ? 'ok' : status.status.code === 'WARNING' ? 'warn' : 'bad';
  return (
    <section className="card" aria-labelledby="instance-title">
      <h2 id="instance-title">Instance</h2>
      <p>
        <span className={`badge badge-${tone}`}>{status.status.code}</span> {status.status.message}
      </p>
      <dl className="facts">
        <dt>Version</dt>
        <dd>
          {status.engine.version} <span className="muted">({status.engine.edition})</span>
        </dd>
        <dt>Uptime</dt>
        <dd title={started ? `since ${formatTime(status.engine.startedAt)}` : undefined}>{started ? formatDuration(now - started.getTime()) : '—'}</dd>
        <dt>Retrieval</dt>
        <dd>
          {r.mode || '—'}, <span data-testid="retrieval-status">{r.status || '—'}</span>
          {r.progress ? <span className="muted"> — {r.progress}</span> : null}
        </dd>
        <dt>Last refresh</dt>
        <dd>
          {formatTime(r.lastRefresh)} {r.lastRefresh && <span className="muted">({formatAgo(r.lastRefresh, now)})</span>}
        </dd>
        <dt>Next refresh</dt>
        <dd>{r.nextRefresh ? formatTime(r.nextRefresh) : 'not scheduled'}</dd>
        <dt>Clones</dt>
        <dd>
          {status.cloning.numClones}; expected cloning time {formatSeconds(status.cloning.expectedCloningTime)}
        </dd>
      </dl>
      {alerts.length > 0 && (
        <div className="alert alert-warn" role="note">
          <strong>Retrieval alerts:</strong>
          <ul>
            {alerts.map((a) => (
              <li key={a.type} data-level={a.level}>
                <code>{a.type}</code> {a.text}
              </li>
            ))}
          </ul>
        </div>
      )}
      {status.pools.map((pool) => (
        <div key={pool.name} className="pool">
          <h3>
            Pool <code>{pool.name}</code>
          </h3>
          <dl className="facts">
            <dt>Backend</dt>
            <dd>{pool.mode || pool.fileSystem.mode}</dd>
            <dt>State</dt>
            <dd>
              {pool.status}; data state {formatTime(pool.dataStateAt)}
            </dd>
            <dt>Main data</dt>
            <dd>{formatBytes(pool.fileSystem.dataSize)}</dd>
          </dl>
          <DiskUsage fs={pool.fileSystem} />
        </div>
      ))}
    </section>
  );
}

/**
 * The snapshots list and calendar. With physical retrieval (`canTake`), "Take snapshot" asks the
 * engine for one now (POST /snapshot answers once it is recorded, which can take seconds).
 */
function SnapshotsPanel({ snapshots, canTake, onTaken }: { snapshots: Snapshot[]; canTake: boolean; onTaken: () => void }) {
  const { client, notify } = useApp();
  const [day, setDay] = useState<string | null>(null);
  const [taking, setTaking] = useState(false);
  const [takeError, setTakeError] = useState<unknown>(null);
  const shown = day ? snapshots.filter((s) => dayKey(parseTime(s.dataStateAt) ?? new Date(0)) === day) : snapshots;
  const take = async () => {
    setTaking(true);
    setTakeError(null);
    try {
      const snapshot = await client.createSnapshot();
      notify(`Snapshot ${snapshot.id} taken.`);
      setDay(null); // show all, so the new snapshot is in the list
      onTaken();
    } catch (e) {
      setTakeError(e);
    }
    setTaking(false);
  };
  return (
    <section className="card" aria-labelledby="snapshots-title">
      <div className="card-head">
        <h2 id="snapshots-title">Snapshots</h2>
        {canTake && (
          <BusyButton className="btn-small" busy={taking} busyLabel="Taking snapshot…" onClick={take}>
            Take snapshot
          </BusyButton>
        )}
      </div>
      {canTake && <ErrorMessage error={takeError} title="No snapshot taken:" />}
      <div className="snapshots-layout">
        <SnapshotCalendar snapshots={snapshots} selectedDay={day} onSelectDay={setDay} />
        <div className="snapshots-list">
          {day && (
            <p>
              Snapshots of {day}.{' '}
              <button type="button" className="btn btn-link" onClick={() => setDay(null)}>
                Show all
              </button>
            </p>
          )}
          {shown.length === 0 ? (
            <p className="empty">No snapshots yet: the first one appears when retrieval finishes.</p>
          ) : (
            <ul className="snapshot-items">
              {shown.map((s, i) => (
                <li key={s.id}>
                  <a href={href({ name: 'snapshot', id: s.id })}>
                    <strong>{formatTime(s.dataStateAt)}</strong>
                  </a>
                  {i === 0 && !day && <span className="badge badge-neutral">latest</span>}
                  <div className="muted small">
                    <code>{s.id}</code> · {formatBytes(s.logicalSize)} · {s.numClones} clone{s.numClones === 1 ? '' : 's'}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}

export function Dashboard() {
  const { client } = useApp();
  const now = useNow(1000);
  const status = usePolling(
    () => client.status(),
    (data) => (data?.cloning.clones.some((c) => statusInfo(c.status.code).transient) ? 700 : 2500),
    [client],
  );
  const snapshots = usePolling(
    () => client.snapshots(),
    (data) => (data && data.length > 0 ? 10000 : 3000),
    [client],
  );
  const snapshotList = [...(snapshots.data ?? [])].sort((a, b) => (a.dataStateAt < b.dataStateAt ? 1 : -1));

  return (
    <div className="page">
      <div className="page-head">
        <h1>Dashboard</h1>
        <a className="btn btn-primary" href={href({ name: 'create' })}>
          Create clone
        </a>
      </div>
      {status.error && status.data ? <ErrorMessage error={status.error} title="Live updates paused:" /> : null}
      {status.loading ? (
        <Spinner label="Loading the instance status…" />
      ) : status.data ? (
        <>
          <div className="grid">
            <InstancePanel status={status.data} now={now} />
            {snapshots.data ? (
              <SnapshotsPanel
                snapshots={snapshotList}
                canTake={status.data.retrieving.mode === 'physical'}
                onTaken={() => {
                  snapshots.refresh();
                  status.refresh();
                }}
              />
            ) : snapshots.error ? (
              <ErrorMessage error={snapshots.error} title="Cannot load snapshots:" onRetry={snapshots.refresh} />
            ) : (
              <Spinner label="Loading snapshots…" />
            )}
          </div>
          <section className="card" aria-labelledby="clones-title">
            <h2 id="clones-title">
              Clones <span className="count">{status.data.cloning.clones.length}</span>
            </h2>
            <ClonesTable clones={status.data.cloning.clones} snapshots={snapshotList} now={now} onChanged={status.refresh} />
          </section>
        </>
      ) : (
        <ErrorMessage error={status.error} title="Cannot load the instance status:" onRetry={status.refresh} />
      )}
    </div>
  );
}
