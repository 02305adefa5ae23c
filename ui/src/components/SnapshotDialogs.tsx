import { useState } from 'react';
import { ApiError, type Snapshot } from '../api';
import { useApp } from '../context';
import { formatBytes, formatTime } from '../format';
import { BusyButton, ErrorMessage, Modal } from './common';

/**
 * Delete a snapshot after confirmation. The engine refuses (409) while clones use it and answers
 * 404 when it is already gone: the dialog then shows the engine's message and stays open.
 */
export function DeleteSnapshotDialog({
  snapshot,
  onClose,
  onDeleted,
  onRefused,
}: {
  snapshot: Snapshot;
  onClose: () => void;
  onDeleted: () => void;
  onRefused?: (error: ApiError) => void;
}) {
  const { client, notify } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await client.deleteSnapshot(snapshot.id);
      notify(`Snapshot ${snapshot.id} deleted.`);
      onDeleted();
    } catch (e) {
      setError(e);
      setBusy(false);
      if (e instanceof ApiError) onRefused?.(e);
    }
  };

  return (
    <Modal title={`Delete snapshot ${snapshot.id}?`} onClose={onClose} busy={busy}>
      <p>
        The snapshot of <strong>{formatTime(snapshot.dataStateAt)}</strong> ({formatBytes(snapshot.physicalSize)} on disk) is gone for good: no
        clone can be created from it or reset to it any more. This cannot be undone.
      </p>
      <ErrorMessage error={error} title="Delete failed:" />
      <div className="dialog-actions">
        <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy} data-autofocus>
          Cancel
        </button>
        <BusyButton variant="danger" busy={busy} busyLabel="Deleting…" onClick={remove}>
          Delete snapshot
        </BusyButton>
      </div>
    </Modal>
  );
}
