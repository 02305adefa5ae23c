// Formatting helpers: sizes, durations, times, connection strings, CLI commands.
import type { Clone, CreateCloneRequest } from './api';

export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

export function formatSeconds(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds) || seconds <= 0) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  return formatDuration(seconds * 1000);
}

/** "3 d 4 h", "2 h 5 min", "45 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

export function formatMinutes(minutes: number): string {
  if (minutes === 0) return 'forever';
  if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? '' : 's'}`;
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
  return `${minutes} min`;
}

export function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value: string | null | undefined): string {
  const date = parseTime(value);
  if (!date) return '—';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function formatAgo(value: string | null | undefined, now: number = Date.now()): string {
  const date = parseTime(value);
  if (!date) return '—';
  const ms = now - date.getTime();
  if (ms < 0) return `in ${formatDuration(-ms)}`;
  if (ms < 5000) return 'just now';
  return `${formatDuration(ms)} ago`;
}

/** Quotes a value for a POSIX shell when needed. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function psqlCommand(clone: Pick<Clone, 'db'>): string {
  const { host, port, username, dbName } = clone.db;
  return `psql "host=${host} port=${port} user=${username} dbname=${dbName}"`;
}

export function jdbcUrl(clone: Pick<Clone, 'db'>): string {
  const { host, port, username, dbName } = clone.db;
  return `jdbc:postgresql://${host}:${port}/${encodeURIComponent(dbName)}?user=${encodeURIComponent(username)}`;
}

/** The `dblab clone create ...` command equivalent to a create request. */
export function cliCreateCommand(request: CreateCloneRequest, showPassword = false): string {
  const parts = ['dblab clone create'];
  if (request.id) parts.push(`--id ${shellQuote(request.id)}`);
  parts.push(`--username ${request.db.username ? shellQuote(request.db.username) : '<username>'}`);
  parts.push(`--password ${request.db.password ? (showPassword ? shellQuote(request.db.password) : "'********'") : '<password>'}`);
  if (request.snapshot?.id) parts.push(`--snapshot-id ${shellQuote(request.snapshot.id)}`);
  if (request.branch) parts.push(`--branch ${shellQuote(request.branch)}`);
  if (request.db.db_name) parts.push(`--db-name ${shellQuote(request.db.db_name)}`);
  if (request.db.restricted) parts.push('--restricted');
  if (request.protected) {
    parts.push(
      request.protectionDurationMinutes === undefined
        ? '--protected true'
        : `--protected ${request.protectionDurationMinutes}`,
    );
  }
  return parts.join(' ');
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random password of letters and digits (no look-alikes), from the browser's CSPRNG. */
export function generatePassword(length = 20): string {
  const bytes = new Uint32Array(length);
  crypto.getRandomValues(bytes);
  let out = '';
  for (const value of bytes) out += PASSWORD_ALPHABET[value % PASSWORD_ALPHABET.length];
  // At least one digit, one lower and one upper case letter.
  if (!/[0-9]/.test(out) || !/[a-z]/.test(out) || !/[A-Z]/.test(out)) return generatePassword(length);
  return out;
}

export const CLONE_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Null when the id is acceptable (empty means: the engine generates one). */
export function validateCloneId(id: string): string | null {
  if (!id) return null;
  if (id.length > 64) return 'At most 64 characters.';
  if (!CLONE_ID_PATTERN.test(id)) {
    return 'Start with a letter or digit; then letters, digits, "_", "." or "-" only.';
  }
  return null;
}

/** DLE's compact data state time (YYYYMMDDHHMMSS, UTC, as in branches and logs) as ISO 8601, or null. */
export function compactToIso(value: string | null | undefined): string | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value ?? '');
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}Z`;
}

/**
 * A branch name as the engine accepts it: letters and digits of any script, "_" and "-" (not
 * first), at most 64 characters, no spaces, separators or invisible characters; not "snapshot".
 * Returns the problem, or null. The engine checks again and answers 400 with its rule.
 */
export function validateBranchName(name: string): string | null {
  if (!name) return 'Enter a branch name.';
  if ([...name].length > 64) return 'At most 64 characters.';
  if (name === 'snapshot') return '"snapshot" is reserved.';
  if (name.startsWith('-')) return 'A branch name cannot start with "-".';
  if (!/^[\p{L}\p{M}\p{N}_-]+$/u.test(name)) {
    return 'Use letters, digits, "_" and "-" only (no spaces, "/", "." or other symbols).';
  }
  return null;
}
