import { fireEvent, render, screen, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { DblabClient, type InstanceStatus, type Snapshot } from '../api';
import { AppContext } from '../context';
import { fakeApi, makeClone, makeStatus, SNAPSHOT } from '../test/fakeApi';
import { Dashboard } from './Dashboard';

function withApp(children: ReactNode, notify = vi.fn()) {
  return <AppContext.Provider value={{ client: new DblabClient('t'), logout: vi.fn(), notify }}>{children}</AppContext.Provider>;
}

function physicalStatus(): InstanceStatus {
  const status = makeStatus([makeClone()]);
  return { ...status, retrieving: { ...status.retrieving, mode: 'physical', status: 'finished' } };
}

const TAKEN: Snapshot = { ...SNAPSHOT, id: 'dblab_pool@snapshot_20240106120000', createdAt: '2024-01-06T12:00:00Z', dataStateAt: '2024-01-06T11:59:58Z', numClones: 0 };

function snapshotsCard() {
  return screen.getByRole('heading', { name: 'Snapshots' }).closest('section')!;
}

describe('dashboard snapshots', () => {
  it('offers no "Take snapshot" in logical mode', async () => {
    const { calls } = fakeApi({ 'GET /status': { json: makeStatus([makeClone()]) }, 'GET /snapshots': { json: [SNAPSHOT] } });
    render(withApp(<Dashboard />));
    expect(await screen.findByText(SNAPSHOT.id)).toBeTruthy();
    expect(screen.getByText(/^logical,/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Take snapshot|Taking snapshot/ })).toBeNull();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('takes a snapshot in physical mode: progress while it runs, then the new snapshot in the list', async () => {
    let snapshots: Snapshot[] = [SNAPSHOT];
    let finish: () => void = () => undefined;
    const notify = vi.fn();
    const { calls } = fakeApi({
      'GET /status': { json: physicalStatus() },
      'GET /snapshots': () => ({ json: snapshots }),
      'POST /snapshot': () =>
        new Promise((resolve) => {
          finish = () => {
            snapshots = [SNAPSHOT, TAKEN];
            resolve({ json: TAKEN });
          };
        }),
    });
    render(withApp(<Dashboard />, notify));
    await screen.findByText(SNAPSHOT.id);
    const card = snapshotsCard();
    expect(within(card).queryByText(TAKEN.id)).toBeNull();
    fireEvent.click(within(card).getByRole('button', { name: 'Take snapshot' }));
    const busy = within(card).getByRole('button', { name: 'Taking snapshot…' }) as HTMLButtonElement;
    expect(busy.disabled).toBe(true);
    expect(busy.getAttribute('aria-busy')).toBe('true');
    fireEvent.click(busy);
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/snapshot']);
    expect(calls.find((c) => c.method === 'POST')?.body).toBeUndefined();
    finish();
    expect(await within(card).findByText(TAKEN.id)).toBeTruthy();
    const items = within(card).getAllByRole('listitem');
    expect(within(items[0]).getByText(TAKEN.id)).toBeTruthy();
    expect(within(items[0]).getByText('latest')).toBeTruthy();
    expect((within(card).getByRole('button', { name: 'Take snapshot' }) as HTMLButtonElement).disabled).toBe(false);
    expect(notify).toHaveBeenCalledWith(`Snapshot ${TAKEN.id} taken.`);
  });

  it('shows the engine message when it refuses to take a snapshot (409)', async () => {
    fakeApi({
      'GET /status': { json: physicalStatus() },
      'GET /snapshots': { json: [SNAPSHOT] },
      'POST /snapshot': { status: 409, json: { code: 'CONFLICT', message: 'a refresh or a snapshot is already running; try again when it is done' } },
    });
    render(withApp(<Dashboard />));
    await screen.findByText(SNAPSHOT.id);
    const card = snapshotsCard();
    fireEvent.click(within(card).getByRole('button', { name: 'Take snapshot' }));
    expect((await within(card).findByRole('alert')).textContent).toBe(
      'No snapshot taken: a refresh or a snapshot is already running; try again when it is done',
    );
    expect((within(card).getByRole('button', { name: 'Take snapshot' }) as HTMLButtonElement).disabled).toBe(false);
    expect(within(card).getAllByRole('listitem')).toHaveLength(1);
  });
});

describe('dashboard retrieval alerts', () => {
  it("lists DLE's alerts object: each type with its newest message and how often it was raised", async () => {
    const status = makeStatus([makeClone()]);
    status.retrieving = {
      ...status.retrieving,
      status: 'failed',
      alerts: {
        refresh_failed: { level: 'error', message: 'pg_dump: connection refused', lastSeen: '2024-01-05T11:00:00Z', count: 3 },
        refresh_skipped: { level: 'warning', message: 'a full refresh is already running', lastSeen: '2024-01-05T11:05:00Z', count: 1 },
      },
    };
    fakeApi({ 'GET /status': { json: status }, 'GET /snapshots': { json: [SNAPSHOT] } });
    render(withApp(<Dashboard />));
    const note = (await screen.findByText('Retrieval alerts:')).closest('[role="note"]')!;
    const items = within(note as HTMLElement).getAllByRole('listitem');
    expect(items.map((li) => li.getAttribute('data-level'))).toEqual(['error', 'warning']);
    expect(items[0].textContent).toMatch(/^refresh_failed pg_dump: connection refused \(3 times, last /);
    expect(items[1].textContent).toMatch(/^refresh_skipped a full refresh is already running \(/);
  });

  it('shows no alert note when the alerts object is empty', async () => {
    fakeApi({ 'GET /status': { json: makeStatus([makeClone()]) }, 'GET /snapshots': { json: [SNAPSHOT] } });
    render(withApp(<Dashboard />));
    await screen.findByText(SNAPSHOT.id);
    expect(screen.queryByText('Retrieval alerts:')).toBeNull();
  });
});
