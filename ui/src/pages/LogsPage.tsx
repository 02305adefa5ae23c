import { useEffect, useRef, useState } from 'react';
import { describeError, logStreamUrl } from '../api';
import { useApp } from '../context';

/** Lines kept on the page; older ones scroll away. */
export const MAX_LINES = 2000;
/** Lines arriving together (the backlog, a burst) are shown in one render. */
const FLUSH_MS = 50;

interface Line {
  id: number;
  text: string;
  level: string;
}

type StreamState = { kind: 'connecting' } | { kind: 'live' } | { kind: 'closed'; reason: string };

// "2026-12-01T10:00:00.000+0000 info clone x: ..." -> "info"
function levelOf(text: string): string {
  const level = text.split(' ', 3)[1] ?? '';
  return ['error', 'critical', 'warning', 'info', 'debug'].includes(level) ? level : 'info';
}

function closeReason(event: CloseEvent): string {
  if (event.reason) return `The engine closed the stream: ${event.reason}`;
  if (event.code === 1000) return 'The engine closed the stream.';
  return 'The connection to the engine was lost (or the engine refused the stream).';
}

/** The engine's log, live (DLE's /instance/logs): recent lines first, then each new one. */
export function LogsPage() {
  const { client } = useApp();
  const [lines, setLines] = useState<Line[]>([]);
  const [state, setState] = useState<StreamState>({ kind: 'connecting' });
  const [filter, setFilter] = useState('');
  const [paused, setPaused] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const incoming = useRef<string[]>([]);
  const nextId = useRef(1);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const viewRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  useEffect(() => {
    let cancelled = false;
    let socket: WebSocket | undefined;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      if (pausedRef.current || incoming.current.length === 0) return;
      const arrived = incoming.current.splice(0).map((text) => ({ id: nextId.current++, text, level: levelOf(text) }));
      setLines((list) => [...list, ...arrived].slice(-MAX_LINES));
    };
    setLines([]);
    incoming.current = [];
    setState({ kind: 'connecting' });
    client
      .logStreamToken()
      .then(({ token }) => {
        if (cancelled) return;
        socket = new WebSocket(logStreamUrl(token));
        socket.onopen = () => setState({ kind: 'live' });
        socket.onmessage = (event: MessageEvent) => {
          if (typeof event.data !== 'string') return;
          incoming.current.push(event.data);
          if (incoming.current.length > MAX_LINES) incoming.current.splice(0, incoming.current.length - MAX_LINES);
          if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
        };
        socket.onclose = (event: CloseEvent) => {
          if (!cancelled) setState({ kind: 'closed', reason: closeReason(event) });
        };
      })
      .catch((error: unknown) => {
        if (!cancelled) setState({ kind: 'closed', reason: `Cannot open the log stream: ${describeError(error)}` });
      });
    return () => {
      cancelled = true;
      if (flushTimer) clearTimeout(flushTimer);
      socket?.close();
    };
  }, [client, attempt]);

  // Lines that arrived while paused are shown on resume.
  useEffect(() => {
    if (paused || incoming.current.length === 0) return;
    const arrived = incoming.current.splice(0).map((text) => ({ id: nextId.current++, text, level: levelOf(text) }));
    setLines((list) => [...list, ...arrived].slice(-MAX_LINES));
  }, [paused]);

  useEffect(() => {
    const view = viewRef.current;
    if (view && stickToBottom.current) view.scrollTop = view.scrollHeight;
  }, [lines, filter]);

  const needle = filter.trim().toLowerCase();
  const shown = needle ? lines.filter((line) => line.text.toLowerCase().includes(needle)) : lines;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Engine log</h1>
        <span className={`log-state log-state-${state.kind}`} role="status">
          {state.kind === 'connecting' ? 'Connecting…' : state.kind === 'live' ? (paused ? 'Paused' : 'Live') : 'Disconnected'}
        </span>
      </div>
      {state.kind === 'closed' && (
        <div className="alert alert-error" role="alert">
          <span>{state.reason}</span>
          <button type="button" className="btn btn-link" onClick={() => setAttempt((n) => n + 1)}>
            Reconnect
          </button>
        </div>
      )}
      <div className="log-toolbar">
        <label>
          Filter{' '}
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="clone id, error, …" />
        </label>
        <button type="button" className="btn btn-secondary" onClick={() => setPaused((p) => !p)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" className="btn btn-secondary" onClick={() => setLines([])}>
          Clear
        </button>
        <span className="muted">
          {needle ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`} (secrets are masked by the engine)
        </span>
      </div>
      <div
        ref={viewRef}
        className="log-view"
        role="log"
        aria-label="Engine log lines"
        tabIndex={0}
        onScroll={(e) => {
          const view = e.currentTarget;
          stickToBottom.current = view.scrollHeight - view.scrollTop - view.clientHeight < 24;
        }}
      >
        {shown.map((line) => (
          <div key={line.id} className={`log-line log-${line.level}`}>
            {line.text}
          </div>
        ))}
        {shown.length === 0 && <div className="muted">{lines.length === 0 ? 'No lines yet.' : 'No line matches the filter.'}</div>}
      </div>
    </div>
  );
}
