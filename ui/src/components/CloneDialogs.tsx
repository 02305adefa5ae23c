import { useId, useState } from 'react';
import { ApiError, type Clone, type Snapshot } from '../api';
import { useApp } from '../context';
import { formatTime } from '../format';
import { BusyButton, ErrorMessage, Modal } from './common';
import { protectionText } from './Protection';

/** Reset to the latest snapshot or a chosen one, after confirmation. */
export function ResetDialog({ clone, snapshots, onClose, onDone }: { clone: Clone; snapshots: Snapshot[]; onClose: () => void; onDone: (clone: Clone) => void }) {
  const { client, notify } = useApp();
  const id = useId();
  const [mode, setMode] = useState<'latest' | 'snapshot'>('latest');
  const [snapshotId, setSnapshotId] = useState(clone.snapshot?.id ?? snapshots[0]?.id ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const updated = await client.resetClone(clone.id, mode === 'latest' ? { latest: true } : { snapshotID: snapshotId });
      notify(`Clone ${clone.id} is being reset.`);
      onDone(updated);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal title={`Reset clone ${clone.id}?`} onClose={onClose} busy={busy}>
      <form onSubmit={submit}>
        <p>
          Every change made in the clone is lost: it goes back to the snapshot's data. The port, the user and the password stay the same;
          open sessions are closed.
        </p>
        <fieldset className="choices">
          <legend>Reset to</legend>
          <label className="check">
            <input type="radio" name={`${id}-mode`} checked={mode === 'latest'} onChange={() => setMode('latest')} disabled={busy} data-autofocus />
            The latest snapshot{snapshots[0] ? ` (${formatTime(snapshots[0].dataStateAt)})` : ''}
          </label>
          <label className="check">
            <input type="radio" name={`${id}-mode`} checked={mode === 'snapshot'} onChange={() => setMode('snapshot')} disabled={busy} />
            A snapshot I choose
          </label>
          {mode === 'snapshot' && (
            <div className="field">
              <label htmlFor={`${id}-snapshot`}>Snapshot</label>
              <select id={`${id}-snapshot`} value={snapshotId} onChange={(e) => setSnapshotId(e.target.value)} disabled={busy}>
                {snapshots.map((s) => (
                  <option key={s.id} value={s.id}>
                    {formatTime(s.dataStateAt)} — {s.id}
                    {s.id === clone.snapshot?.id ? ' (current)' : ''}
                  </option>
                ))}
              </select>
            </div>
          )}
        </fieldset>
        <ErrorMessage error={error} title="Reset failed:" />
        <div className="dialog-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <BusyButton type="submit" variant="danger" busy={busy} busyLabel="Resetting…">
            Reset clone
          </BusyButton>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Destroy after confirmation. A protected clone cannot be destroyed: the dialog says why and
 * offers to remove the protection first.
 */
export function DestroyDialog({ clone, onClose, onDestroyed, onUpdated }: { clone: Clone; onClose: () => void; onDestroyed: () => void; onUpdated?: (clone: Clone) => void }) {
  const { client, notify } = useApp();
  const [current, setCurrent] = useState(clone);
  const [busy, setBusy] = useState<'destroy' | 'unprotect' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const isProtected = current.protected;

  const destroy = async () => {
    setBusy('destroy');
    setError(null);
    try {
      await client.destroyClone(current.id);
      notify(`Clone ${current.id} is being destroyed.`);
      onDestroyed();
    } catch (e) {
      if (e instanceof ApiError && e.conflict && /protect/i.test(e.message)) setCurrent({ ...current, protected: true });
      setError(e);
      setBusy(null);
    }
  };
  const unprotect = async () => {
    setBusy('unprotect');
    setError(null);
    try {
      const updated = await client.updateClone(current.id, { protected: false });
      setCurrent(updated);
      onUpdated?.(updated);
      notify(`Protection of clone ${current.id} removed.`);
    } catch (e) {
      setError(e);
    }
    setBusy(null);
  };

  return (
    <Modal title={`Destroy clone ${current.id}?`} onClose={onClose} busy={busy !== null}>
      {isProtected ? (
        <>
          <div className="alert alert-warn" role="note">
            <strong>This clone is protected</strong> ({protectionText(current).replace(/^Protected /, '')}), so the engine refuses to destroy it:
            protection keeps a clone someone still needs from being deleted by mistake or when idle. Remove the protection first if you are
            sure nobody needs it.
          </div>
          <ErrorMessage error={error} title="The engine said:" />
          <div className="dialog-actions">
            <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy !== null} data-autofocus>
              Keep the clone
            </button>
            <BusyButton variant="primary" busy={busy === 'unprotect'} busyLabel="Removing protection…" onClick={unprotect}>
              Remove protection
            </BusyButton>
          </div>
        </>
      ) : (
        <>
          <p>
            The clone's data and its PostgreSQL server on port <strong>{current.db.port || '—'}</strong> are gone for good. This cannot be
            undone.
          </p>
          <ErrorMessage error={error} title="Destroy failed:" />
          <div className="dialog-actions">
            <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy !== null} data-autofocus>
              Cancel
            </button>
            <BusyButton variant="danger" busy={busy === 'destroy'} busyLabel="Destroying…" onClick={destroy}>
              Destroy clone
            </BusyButton>
          </div>
        </>
      )}
    </Modal>
  );
}
