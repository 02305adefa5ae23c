// What each clone status means for the UI.
import type { CloneStatusCode } from './api';

export type Tone = 'ok' | 'busy' | 'bad' | 'warn' | 'neutral';

export interface StatusInfo {
  label: string;
  tone: Tone;
  /** The engine is working on the clone: poll often, and disable other actions. */
  transient: boolean;
  /** Connections are accepted. */
  usable: boolean;
}

const INFO: Record<CloneStatusCode, StatusInfo> = {
  OK: { label: 'OK', tone: 'ok', transient: false, usable: true },
  CREATING: { label: 'Creating', tone: 'busy', transient: true, usable: false },
  RESETTING: { label: 'Resetting', tone: 'busy', transient: true, usable: false },
  DELETING: { label: 'Deleting', tone: 'busy', transient: true, usable: false },
  FATAL: { label: 'Failed', tone: 'bad', transient: false, usable: false },
  WARNING: { label: 'Warning', tone: 'warn', transient: false, usable: true },
};

export function statusInfo(code: string | undefined): StatusInfo {
  if (code && code in INFO) return INFO[code as CloneStatusCode];
  return { label: code ? code : 'Unknown', tone: 'neutral', transient: false, usable: false };
}

/** How often to poll a clone in this status (ms). */
export function pollInterval(code: string | undefined): number {
  return statusInfo(code).transient ? 500 : 5000;
}
