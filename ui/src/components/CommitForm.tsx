import { useId, useState } from 'react';
import type { Clone } from '../api';
import { useApp } from '../context';
import { href } from '../router';
import { BusyButton, ErrorMessage, Field } from './common';

/**
 * `dblab commit` from the clone page: POST /branch/snapshot makes a snapshot of the clone on its
 * branch with the message; the branch's head and the clone move to it. Sessions stay open.
 */
export function CommitForm({ clone, disabled, onCommitted }: { clone: Clone; disabled?: boolean; onCommitted: (snapshotID: string) => void }) {
  const { client, notify } = useApp();
  const uid = useId();
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<string | null>(null);
  const branch = clone.branch || 'main';

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { snapshotID } = await client.commit(clone.id, message.trim());
      setMade(snapshotID);
      setMessage('');
      notify(`Committed clone ${clone.id} as ${snapshotID} on branch ${branch}.`);
      onCommitted(snapshotID);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-label="Commit">
      <p className="muted">
        Saves the clone's data as a new snapshot on branch <a href={href({ name: 'branch', id: branch })}>{branch}</a>; new clones of the branch start from it.
      </p>
      <Field label="Commit message" htmlFor={`${uid}-message`}>
        <input id={`${uid}-message`} value={message} maxLength={1000} disabled={busy || disabled} onChange={(e) => setMessage(e.target.value)} />
      </Field>
      <BusyButton type="submit" variant="primary" busy={busy} busyLabel="Committing…" disabled={disabled}>
        Commit
      </BusyButton>
      {made && (
        <p role="status">
          Committed as{' '}
          <a href={href({ name: 'snapshot', id: made })}>
            <code>{made}</code>
          </a>
          .
        </p>
      )}
      <ErrorMessage error={error} title="Could not commit:" />
    </form>
  );
}
