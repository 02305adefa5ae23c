import { useId, useState } from 'react';
import type { Snapshot } from '../api';
import { useApp } from '../context';
import { formatMinutes } from '../format';
import { protectionLabel } from '../pages/Branches';
import { BusyButton, ErrorMessage } from './common';

/**
 * PATCH /snapshot/{id}: a protected snapshot is refused by delete and skipped by retention.
 * Forever is offered only when the engine has no cap (cloning.protectionMaxDurationMinutes).
 */
export function SnapshotProtectionForm({ snapshot, max, onUpdated }: { snapshot: Snapshot; max: number; onUpdated: (snapshot: Snapshot) => void }) {
  const { client, notify } = useApp();
  const uid = useId();
  const presets = [60, 1440, 10080].filter((m) => max === 0 || m <= max);
  const choices = max === 0 ? ['0', ...presets.map(String)] : presets.length ? presets.map(String) : [String(max)];
  const [enabled, setEnabled] = useState(Boolean(snapshot.protected));
  const [minutes, setMinutes] = useState(choices[0]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const updated = await client.updateSnapshot(
        snapshot.id,
        enabled ? { protected: true, ...(minutes !== '0' ? { protectionDurationMinutes: Number(minutes) } : {}) } : { protected: false },
      );
      notify(enabled ? `Snapshot ${snapshot.id} is protected.` : `Protection of snapshot ${snapshot.id} removed.`);
      onUpdated(updated);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="protection-form" onSubmit={save} aria-label="Snapshot protection">
      <p>
        <strong data-testid="snapshot-protection-state">{protectionLabel(snapshot)}</strong>
        <span className="muted"> — a protected snapshot is never deleted, neither by hand nor by retention.</span>
      </p>
      <div className="row">
        <label className="check">
          <input type="checkbox" checked={enabled} disabled={busy} onChange={(e) => setEnabled(e.target.checked)} />
          Protect from deletion
        </label>
        {enabled && (
          <>
            <label htmlFor={`${uid}-duration`}>For</label>
            <select id={`${uid}-duration`} value={minutes} disabled={busy} onChange={(e) => setMinutes(e.target.value)}>
              {choices.map((m) => (
                <option key={m} value={m}>
                  {m === '0' ? 'Forever' : formatMinutes(Number(m))}
                </option>
              ))}
            </select>
          </>
        )}
        <BusyButton type="submit" busy={busy} busyLabel="Saving…">
          Save protection
        </BusyButton>
      </div>
      <ErrorMessage error={error} title="Could not change protection:" />
    </form>
  );
}
