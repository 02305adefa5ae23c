import { useMemo, useState } from 'react';
import type { Snapshot } from '../api';
import { parseTime } from '../format';

const WEEKDAYS = ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'];

export function dayKey(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A month calendar that marks days with snapshots (by data state time), as DLE's UI does. */
export function SnapshotCalendar({
  snapshots,
  selectedDay,
  onSelectDay,
}: {
  snapshots: Snapshot[];
  selectedDay: string | null;
  onSelectDay: (day: string | null) => void;
}) {
  const counts = useMemo(() => {
    const map = new Map<string, number>();
    for (const s of snapshots) {
      const date = parseTime(s.dataStateAt) ?? parseTime(s.createdAt);
      if (date) map.set(dayKey(date), (map.get(dayKey(date)) ?? 0) + 1);
    }
    return map;
  }, [snapshots]);
  const latest = useMemo(() => {
    const times = snapshots.map((s) => parseTime(s.dataStateAt)?.getTime() ?? 0);
    return times.length ? new Date(Math.max(...times)) : new Date();
  }, [snapshots]);
  const [month, setMonth] = useState(() => new Date(latest.getFullYear(), latest.getMonth(), 1));

  const first = new Date(month.getFullYear(), month.getMonth(), 1);
  const daysInMonth = new Date(month.getFullYear(), month.getMonth() + 1, 0).getDate();
  const offset = (first.getDay() + 6) % 7; // Monday first
  const cells: (Date | null)[] = [];
  for (let i = 0; i < offset; i++) cells.push(null);
  for (let d = 1; d <= daysInMonth; d++) cells.push(new Date(month.getFullYear(), month.getMonth(), d));
  while (cells.length % 7 !== 0) cells.push(null);
  const weeks: (Date | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  const title = month.toLocaleString('en', { month: 'long', year: 'numeric' });
  const today = dayKey(new Date());

  return (
    <div className="calendar">
      <div className="calendar-head">
        <button type="button" className="btn btn-small" onClick={() => setMonth(new Date(month.getFullYear(), month.getMonth() - 1, 1))} aria-label="Previous month">
          ‹
        </button>
        <strong aria-live="polite">{title}</strong>
        <button type="button" className="btn btn-small" onClick={() => setMonth(new Date(month.getFullYear(), month.getMonth() + 1, 1))} aria-label="Next month">
          ›
        </button>
      </div>
      <table className="calendar-grid" aria-label={`Snapshots in ${title}`}>
        <thead>
          <tr>
            {WEEKDAYS.map((d) => (
              <th key={d} scope="col">
                {d}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {weeks.map((week, i) => (
            <tr key={i}>
              {week.map((date, j) => {
                if (!date) return <td key={j} />;
                const key = dayKey(date);
                const count = counts.get(key) ?? 0;
                const label = `${date.toLocaleDateString('en', { day: 'numeric', month: 'long' })}: ${count ? `${count} snapshot${count > 1 ? 's' : ''}` : 'no snapshots'}`;
                return (
                  <td key={j}>
                    {count ? (
                      <button
                        type="button"
                        className={`day day-marked${selectedDay === key ? ' day-selected' : ''}${key === today ? ' day-today' : ''}`}
                        aria-pressed={selectedDay === key}
                        aria-label={label}
                        onClick={() => onSelectDay(selectedDay === key ? null : key)}
                      >
                        {date.getDate()}
                      </button>
                    ) : (
                      <span className={`day${key === today ? ' day-today' : ''}`} aria-label={label}>
                        {date.getDate()}
                      </span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">Marked days have snapshots; choose one to show only its snapshots.</p>
    </div>
  );
}
