import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { DblabClient, logStreamUrl } from '../api';
import { AppContext } from '../context';
import { parseHash } from '../router';
import { fakeApi } from '../test/fakeApi';
import { LogsPage } from './LogsPage';

/** A WebSocket stand-in: records the URL it was opened with; the test plays the engine. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  close() {
    this.closed = true;
  }
  open() {
    act(() => this.onopen?.(new Event('open')));
  }
  send(...lines: string[]) {
    act(() => {
      for (const line of lines) this.onmessage?.(new MessageEvent('message', { data: line }));
    });
  }
  end(code: number, reason = '') {
    act(() => this.onclose?.(new CloseEvent('close', { code, reason })));
  }
}

function renderPage() {
  FakeSocket.opened = [];
  vi.stubGlobal('WebSocket', FakeSocket);
  let issued = 0;
  const api = fakeApi({ 'GET /admin/ws-auth': () => ({ json: { token: `one-time-${++issued}` } }) });
  const view = render(
    <AppContext.Provider value={{ client: new DblabClient('the-verification-token'), logout: vi.fn(), notify: vi.fn() }}>
      <LogsPage />
    </AppContext.Provider>,
  );
  return { ...api, unmount: view.unmount };
}

async function socket(index = 0): Promise<FakeSocket> {
  await waitFor(() => expect(FakeSocket.opened.length).toBeGreaterThan(index));
  return FakeSocket.opened[index];
}

describe('logs page', () => {
  it('opens the stream with a one-time token, never the verification token, and shows lines as they come', async () => {
    const { calls } = renderPage();
    const ws = await socket();
    expect(calls[0]).toMatchObject({ method: 'GET', path: '/admin/ws-auth', token: 'the-verification-token' });
    expect(ws.url).toBe(`ws://${window.location.host}/api/instance/logs?token=one-time-1`);
    expect(ws.url).not.toContain('the-verification-token');
    expect(screen.getByRole('status').textContent).toBe('Connecting…');
    ws.open();
    expect(screen.getByRole('status').textContent).toBe('Live');
    ws.send('2026-12-01T10:00:00.000+0000 info engine started', '2026-12-01T10:00:01.000+0000 warning pool is 91% full');
    const log = screen.getByRole('log', { name: 'Engine log lines' });
    await waitFor(() => expect(log.textContent).toContain('pool is 91% full'));
    expect(screen.getByText(/pool is 91% full/).className).toContain('log-warning');
    ws.send('2026-12-01T10:00:02.000+0000 info clone c1: creating from snapshot p@s on port 6000');
    await waitFor(() => expect(log.textContent).toContain('clone c1: creating'));
    expect(screen.getByText(/3 lines/)).toBeTruthy();
  });

  it('filters lines and holds new ones while paused', async () => {
    renderPage();
    const ws = await socket();
    ws.open();
    ws.send('t info clone a: ready', 't error clone b: failed');
    const log = screen.getByRole('log');
    await waitFor(() => expect(log.textContent).toContain('clone b'));
    fireEvent.change(screen.getByRole('searchbox', { name: /Filter/ }), { target: { value: 'CLONE B' } });
    expect(log.textContent).not.toContain('clone a');
    expect(screen.getByText(/1 of 2 lines/)).toBeTruthy();
    fireEvent.change(screen.getByRole('searchbox', { name: /Filter/ }), { target: { value: '' } });

    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    ws.send('t info while paused');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(log.textContent).not.toContain('while paused');
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(log.textContent).toContain('while paused'));
  });

  it('says why the stream closed and reconnects with a fresh token', async () => {
    const { calls } = renderPage();
    const first = await socket();
    first.open();
    first.end(1008, 'reading too slowly: log lines were lost; reconnect');
    expect(screen.getByRole('alert').textContent).toContain('reading too slowly');
    fireEvent.click(screen.getByRole('button', { name: 'Reconnect' }));
    const second = await socket(1);
    expect(second.url).toContain('token=one-time-2');
    expect(calls.filter((c) => c.path === '/admin/ws-auth')).toHaveLength(2);
    second.open();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows the error when the engine refuses the token request', async () => {
    FakeSocket.opened = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    fakeApi({ 'GET /admin/ws-auth': { status: 503, json: { code: 'UNAVAILABLE', message: 'live logs are not available in this engine' } } });
    render(
      <AppContext.Provider value={{ client: new DblabClient('t'), logout: vi.fn(), notify: vi.fn() }}>
        <LogsPage />
      </AppContext.Provider>,
    );
    expect((await screen.findByRole('alert')).textContent).toContain('live logs are not available in this engine');
    expect(FakeSocket.opened).toHaveLength(0);
  });

  it('closes the stream when the page goes away', async () => {
    const { unmount } = renderPage();
    const ws = await socket();
    ws.open();
    unmount();
    expect(ws.closed).toBe(true);
  });
});

describe('log stream URL and route', () => {
  it('uses wss on https pages and the /api prefix', () => {
    expect(logStreamUrl('a b', { protocol: 'https:', host: 'dblab.example:8443' })).toBe('wss://dblab.example:8443/api/instance/logs?token=a%20b');
    expect(logStreamUrl('x', { protocol: 'http:', host: '127.0.0.1:2345' })).toBe('ws://127.0.0.1:2345/api/instance/logs?token=x');
  });
  it('routes #/logs to the logs page', () => {
    expect(parseHash('#/logs')).toEqual({ name: 'logs' });
  });
});
