import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  refresh: () => void;
}

/**
 * Calls `load` now and again after `interval(data)` ms (null stops polling). Keeps the last good
 * data when a poll fails, so a passing network error does not blank the page.
 */
export function usePolling<T>(
  load: () => Promise<T>,
  interval: (data: T | undefined, error: unknown) => number | null,
  deps: readonly unknown[],
): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  const intervalRef = useRef(interval);
  loadRef.current = load;
  intervalRef.current = interval;

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let next: T | undefined;
      let failure: unknown;
      try {
        next = await loadRef.current();
        if (cancelled) return;
        setData(next);
        setError(undefined);
      } catch (e) {
        if (cancelled) return;
        failure = e;
        setError(e);
      }
      setLoading(false);
      const wait = intervalRef.current(next, failure);
      if (wait !== null && !cancelled) timer = setTimeout(run, wait);
    };
    void run();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, refresh };
}

/** Re-renders every `ms` so relative times ("3 min ago", uptime) stay current. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
