import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { DblabClient, saveToken, type Clone, type Snapshot } from '../api';
import { App } from '../App';
import { AppContext } from '../context';
import { href } from '../router';
import { fakeApi, makeClone, makeStatus, OLD_SNAPSHOT, SNAPSHOT } from '../test/fakeApi';
import { SnapshotPage } from './SnapshotPage';

function withApp(children: ReactNode) {
  return <AppContext.Provider value={{ client: new DblabClient('t'), logout: vi.fn(), notify: vi.fn() }}>{children}</AppContext.Provider>;
}

const OLD_PATH = '/snapshot/dblab_pool%40snapshot_20240102101010';

describe('snapshot page', () => {
  it('disables delete and names the clones to destroy or reset first when clones use the snapshot', async () => {
    const { calls } = fakeApi({
      'GET /snapshots': { json: [{ ...SNAPSHOT, numClones: 2 }, OLD_SNAPSHOT] },
      'GET /clones': { json: [makeClone(), makeClone({ id: 'demo2' }), makeClone({ id: 'other', snapshot: OLD_SNAPSHOT })] },
    });
    render(withApp(<SnapshotPage id={SNAPSHOT.id} />));
    const button = (await screen.findByRole('button', { name: 'Delete snapshot…' })) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    const reason = document.getElementById(button.getAttribute('aria-describedby') ?? '');
    expect(reason?.textContent).toBe('Clones demo1, demo2 use this snapshot, so it cannot be deleted: destroy them or reset them to another snapshot first.');
    expect(within(reason!).getByRole('link', { name: 'demo2' }).getAttribute('href')).toBe(href({ name: 'clone', id: 'demo2' }));
    fireEvent.click(button);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
  });

  it('says how many clones use it when their names are not known', async () => {
    fakeApi({ 'GET /snapshots': { json: [SNAPSHOT] }, 'GET /clones': { json: [] } });
    render(withApp(<SnapshotPage id={SNAPSHOT.id} />));
    expect(((await screen.findByRole('button', { name: 'Delete snapshot…' })) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText('1 clone uses this snapshot, so it cannot be deleted: destroy it or reset it to another snapshot first.')).toBeTruthy();
  });

  it('deletes an unused snapshot after confirmation and goes to the dashboard', async () => {
    saveToken('t');
    vi.spyOn(window, 'scrollTo').mockImplementation(() => undefined); // App scrolls up on navigation; jsdom has no layout
    let snapshots: Snapshot[] = [SNAPSHOT, OLD_SNAPSHOT];
    const { calls } = fakeApi({
      'GET /status': { json: makeStatus([makeClone()]) },
      'GET /snapshots': () => ({ json: snapshots }),
      'GET /clones': { json: [makeClone()] },
      [`DELETE ${OLD_PATH}`]: () => {
        snapshots = [SNAPSHOT];
        return { json: { status: 'OK', message: `Deleted snapshot ${OLD_SNAPSHOT.id}` } };
      },
    });
    window.location.hash = href({ name: 'snapshot', id: OLD_SNAPSHOT.id });
    render(<App />);
    const button = (await screen.findByRole('button', { name: 'Delete snapshot…' })) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.hasAttribute('aria-describedby')).toBe(false);
    expect(screen.queryByText(/cannot be deleted/)).toBeNull();
    fireEvent.click(button);
    const dialog = screen.getByRole('dialog', { name: `Delete snapshot ${OLD_SNAPSHOT.id}?` });
    expect(within(dialog).getByText(/This cannot be undone/)).toBeTruthy();
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete snapshot' }));
    expect((within(dialog).getByRole('button', { name: /Deleting…/ }) as HTMLButtonElement).disabled).toBe(true);
    expect(await screen.findByRole('heading', { name: 'Dashboard' })).toBeTruthy();
    expect(window.location.hash).toBe('#/');
    expect(screen.getByText(`Snapshot ${OLD_SNAPSHOT.id} deleted.`)).toBeTruthy();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual([OLD_PATH]);
    await screen.findByText(SNAPSHOT.id);
    expect(screen.queryByText(OLD_SNAPSHOT.id)).toBeNull();
  });

  it('shows the engine refusal (409) in the dialog, stays, and then shows the clone that uses it', async () => {
    let snapshots: Snapshot[] = [SNAPSHOT, OLD_SNAPSHOT];
    let clones: Clone[] = [];
    const message = `snapshot ${OLD_SNAPSHOT.id} is used by clone(s) late; destroy them or reset them to another snapshot first`;
    fakeApi({
      'GET /snapshots': () => ({ json: snapshots }),
      'GET /clones': () => ({ json: clones }),
      [`DELETE ${OLD_PATH}`]: () => {
        snapshots = [SNAPSHOT, { ...OLD_SNAPSHOT, numClones: 1 }];
        clones = [makeClone({ id: 'late', snapshot: OLD_SNAPSHOT })];
        return { status: 409, json: { code: 'CONFLICT', message } };
      },
    });
    render(withApp(<SnapshotPage id={OLD_SNAPSHOT.id} />));
    fireEvent.click(await screen.findByRole('button', { name: 'Delete snapshot…' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete snapshot' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe(`Delete failed: ${message}`);
    expect(window.location.hash).toBe('');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    await waitFor(() => expect((screen.getByRole('button', { name: 'Delete snapshot…' }) as HTMLButtonElement).disabled).toBe(true));
    expect(screen.getByText(/uses this snapshot, so it cannot be deleted/).textContent).toMatch(/^Clone late uses/);
  });

  it('shows the engine message when the snapshot is already gone (404)', async () => {
    fakeApi({
      'GET /snapshots': { json: [OLD_SNAPSHOT] },
      'GET /clones': { json: [] },
      [`DELETE ${OLD_PATH}`]: { status: 404, json: { code: 'NOT_FOUND', message: `snapshot ${OLD_SNAPSHOT.id} not found; see dblab snapshot list` } },
    });
    render(withApp(<SnapshotPage id={OLD_SNAPSHOT.id} />));
    fireEvent.click(await screen.findByRole('button', { name: 'Delete snapshot…' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete snapshot' }));
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(`snapshot ${OLD_SNAPSHOT.id} not found; see dblab snapshot list`);
    expect(within(dialog).getByRole('button', { name: 'Delete snapshot' })).toBeTruthy();
  });
});
