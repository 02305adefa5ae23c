import { useId, useState } from 'react';
import type { Clone } from '../api';
import { useApp } from '../context';
import { formatMinutes, formatTime } from '../format';
import { BusyButton, ErrorMessage } from './common';

export interface DurationChoice {
  /** 'default' = the engine's lease; 'custom' = `custom` minutes; else minutes as text ('0' = forever). */
  option: string;
  custom: string;
}

export const DEFAULT_DURATION: DurationChoice = { option: 'default', custom: '120' };

/** Minutes to send as protectionDurationMinutes (undefined = engine default), or an error text. */
export function durationMinutes(choice: DurationChoice, max: number): { minutes?: number; error?: string } {
  if (choice.option === 'default') return {};
  const text = choice.option === 'custom' ? choice.custom.trim() : choice.option;
  if (!/^\d+$/.test(text)) return { error: 'Enter a whole number of minutes.' };
  const minutes = Number(text);
  if (max > 0 && (minutes === 0 || minutes > max)) {
    return { error: `The engine allows at most ${max} minutes (${formatMinutes(max)}).` };
  }
  return { minutes };
}

export function DurationPicker({
  value,
  onChange,
  lease,
  max,
  disabled,
  idPrefix,
}: {
  value: DurationChoice;
  onChange: (value: DurationChoice) => void;
  lease: number;
  max: number;
  disabled?: boolean;
  idPrefix: string;
}) {
  const presets = [60, 1440, 10080].filter((m) => max === 0 || m <= max);
  const { error } = durationMinutes(value, max);
  return (
    <div className="duration">
      <label htmlFor={`${idPrefix}-duration`}>Protection duration</label>
      <select
        id={`${idPrefix}-duration`}
        value={value.option}
        disabled={disabled}
        onChange={(e) => onChange({ ...value, option: e.target.value })}
      >
        <option value="default">Engine default ({formatMinutes(lease)})</option>
        {presets.map((m) => (
          <option key={m} value={String(m)}>
            {formatMinutes(m)}
          </option>
        ))}
        {max === 0 && <option value="0">Forever</option>}
        <option value="custom">Custom (minutes)</option>
      </select>
      {value.option === 'custom' && (
        <>
          <label htmlFor={`${idPrefix}-minutes`} className="visually-hidden">
            Minutes of protection
          </label>
          <input
            id={`${idPrefix}-minutes`}
            type="number"
            min={1}
            max={max || undefined}
            inputMode="numeric"
            value={value.custom}
            disabled={disabled}
            aria-invalid={Boolean(error)}
            onChange={(e) => onChange({ ...value, custom: e.target.value })}
          />
          <span className="muted">minutes</span>
        </>
      )}
      {error && (
        <div className="field-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

export function protectionText(clone: Clone): string {
  if (!clone.protected) return 'Not protected';
  return clone.protectedTill ? `Protected until ${formatTime(clone.protectedTill)}` : 'Protected without end';
}

/** Turns protection on (with a duration) or off; PATCH /clone/{id}. */
export function ProtectionForm({ clone, lease, max, onUpdated }: { clone: Clone; lease: number; max: number; onUpdated: (clone: Clone) => void }) {
  const { client, notify } = useApp();
  const id = useId();
  const [enabled, setEnabled] = useState(clone.protected);
  const [duration, setDuration] = useState<DurationChoice>(DEFAULT_DURATION);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const { minutes, error: durationError } = durationMinutes(duration, max);

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    if (enabled && durationError) return;
    setBusy(true);
    setError(null);
    try {
      const updated = await client.updateClone(clone.id, enabled ? { protected: true, protectionDurationMinutes: minutes } : { protected: false });
      notify(enabled ? `Clone ${clone.id} is protected.` : `Protection of clone ${clone.id} removed.`);
      onUpdated(updated);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="protection-form" onSubmit={save} aria-label="Protection">
      <p>
        <strong data-testid="protection-state">{protectionText(clone)}</strong>
        <span className="muted"> — a protected clone is never destroyed, neither by hand nor when idle.</span>
      </p>
      <div className="row">
        <label className="check">
          <input id={`${id}-on`} type="checkbox" checked={enabled} disabled={busy} onChange={(e) => setEnabled(e.target.checked)} />
          Protect from deletion
        </label>
        {enabled && <DurationPicker value={duration} onChange={setDuration} lease={lease} max={max} disabled={busy} idPrefix={`${id}-p`} />}
        <BusyButton type="submit" busy={busy} busyLabel="Saving…" disabled={enabled && Boolean(durationError)}>
          Save protection
        </BusyButton>
      </div>
      <ErrorMessage error={error} title="Could not change protection:" />
    </form>
  );
}
