import type { PoolFileSystem } from '../api';
import { formatBytes } from '../format';

/** A stacked bar: used by snapshots, by clones, other data, free. */
export function DiskUsage({ fs }: { fs: PoolFileSystem }) {
  const size = fs.size > 0 ? fs.size : fs.used + fs.free;
  const snapshots = Math.max(0, fs.usedBySnapshots);
  const clones = Math.max(0, fs.usedByClones);
  const other = Math.max(0, fs.used - snapshots - clones);
  const free = Math.max(0, fs.free);
  const pct = (value: number) => (size > 0 ? (value / size) * 100 : 0);
  const usedPct = pct(fs.used);
  const segments = [
    { key: 'snapshots', label: 'Snapshots', value: snapshots },
    { key: 'clones', label: 'Clones', value: clones },
    { key: 'other', label: 'Main data and other', value: other },
    { key: 'free', label: 'Free', value: free },
  ];
  const summary = `${formatBytes(fs.used)} used of ${formatBytes(size)} (${usedPct.toFixed(usedPct < 10 ? 1 : 0)}%), ${formatBytes(free)} free`;
  return (
    <div className="disk">
      <div className="disk-bar" role="img" aria-label={`Disk usage: ${summary}`}>
        {segments.map((s) =>
          s.value > 0 ? (
            <span
              key={s.key}
              className={`disk-seg disk-${s.key}`}
              style={{ width: `${Math.max(pct(s.value), s.key === 'free' ? 0 : 0.8)}%` }}
              title={`${s.label}: ${formatBytes(s.value)}`}
            />
          ) : null,
        )}
      </div>
      <p className="disk-summary">{summary}</p>
      <ul className="legend">
        {segments.map((s) => (
          <li key={s.key}>
            <span className={`swatch disk-${s.key}`} aria-hidden="true" />
            {s.label}: <strong>{formatBytes(s.value)}</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}
