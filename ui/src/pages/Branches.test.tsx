import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { DblabClient, type Branch, type SnapshotDetails } from '../api';
import { AppContext } from '../context';
import { href } from '../router';
import { fakeApi, makeClone, makeStatus, OLD_SNAPSHOT, SNAPSHOT } from '../test/fakeApi';
import { BranchPage } from './BranchPage';
import { BranchesPage } from './Branches';
import { ClonePage } from './ClonePage';
import { SnapshotPage } from './SnapshotPage';

function withApp(children: ReactNode, notify = vi.fn()) {
  return <AppContext.Provider value={{ client: new DblabClient('t'), logout: vi.fn(), notify }}>{children}</AppContext.Provider>;
}

const MAIN: Branch = { name: 'main', parent: '-', dataStateAt: '20240105100000', snapshotID: SNAPSHOT.id, dataset: 'dblab_pool', numSnapshots: 2, protected: false };
const COMMIT_ID = 'dblab_pool@snapshot_20240106090000';
const FEATURE: Branch = { name: 'функция-1', parent: 'main', dataStateAt: '20240106090000', snapshotID: COMMIT_ID, dataset: 'dblab_pool', numSnapshots: 3, protected: true };
const LOG: SnapshotDetails[] = [
  { id: COMMIT_ID, parent: SNAPSHOT.id, child: [], branch: ['функция-1'], root: [], dataStateAt: '20240106090000', message: 'add a tier column', dataset: 'dblab_pool', clones: ['demo1'] },
  { id: SNAPSHOT.id, parent: OLD_SNAPSHOT.id, child: [COMMIT_ID], branch: ['main'], root: ['функция-1'], dataStateAt: '20240105100000', message: '', dataset: 'dblab_pool', clones: [] },
];
const FEATURE_PATH = `/branch/${encodeURIComponent('функция-1')}`;

describe('branches page', () => {
  it('lists branches with parent, head, data state time and protection', async () => {
    fakeApi({ 'GET /branches': { json: [MAIN, FEATURE] }, 'GET /snapshots': { json: [SNAPSHOT, OLD_SNAPSHOT] } });
    render(withApp(<BranchesPage />));
    const table = await screen.findByRole('table', { name: 'Branches' });
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(within(rows[2]).getByRole('link', { name: 'функция-1' }).getAttribute('href')).toBe(href({ name: 'branch', id: 'функция-1' }));
    expect(within(rows[2]).getByText('main')).toBeTruthy();
    expect(within(rows[2]).getByText('Protected without end')).toBeTruthy();
    expect(within(rows[1]).getByText('—')).toBeTruthy(); // main has no parent
    expect(within(rows[1]).getByText(/^2024-01-05 /)).toBeTruthy();
  });

  it('checks the name, then creates a branch from the chosen base and snapshot', async () => {
    const notify = vi.fn();
    const { calls } = fakeApi({
      'GET /branches': { json: [MAIN, FEATURE] },
      'GET /snapshots': { json: [SNAPSHOT, { ...OLD_SNAPSHOT, branch: 'main' }] },
      'POST /branch': (call) => ({ json: { name: (call.body as { branchName: string }).branchName } }),
    });
    render(withApp(<BranchesPage />, notify));
    const name = await screen.findByLabelText('Branch name');
    fireEvent.change(name, { target: { value: 'a/b' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create branch' }));
    expect(await screen.findByText(/no spaces, "\/"/)).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    fireEvent.change(name, { target: { value: 'ветка_2' } });
    fireEvent.change(screen.getByLabelText('Start from snapshot'), { target: { value: OLD_SNAPSHOT.id } });
    fireEvent.click(screen.getByRole('button', { name: 'Create branch' }));
    await waitFor(() => expect(notify).toHaveBeenCalledWith('Branch ветка_2 created.'));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ branchName: 'ветка_2', baseBranch: 'main', snapshotID: OLD_SNAPSHOT.id });
    expect(window.location.hash).toBe(href({ name: 'branch', id: 'ветка_2' }));
  });

  it("shows the engine's refusal when the branch exists", async () => {
    fakeApi({
      'GET /branches': { json: [MAIN] },
      'GET /snapshots': { json: [SNAPSHOT] },
      'POST /branch': { status: 409, json: { code: 'CONFLICT', message: 'branch "dev" already exists' } },
    });
    render(withApp(<BranchesPage />));
    fireEvent.change(await screen.findByLabelText('Branch name'), { target: { value: 'dev' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create branch' }));
    expect(await screen.findByText(/branch "dev" already exists/)).toBeTruthy();
  });
});

describe('branch page', () => {
  it("shows the branch's log, head first, with messages, heads and clones", async () => {
    fakeApi({ 'GET /branches': { json: [MAIN, FEATURE] }, [`GET ${FEATURE_PATH}/log`]: { json: LOG } });
    render(withApp(<BranchPage id="функция-1" />));
    const log = await screen.findByRole('list', { name: 'Log of функция-1' });
    const items = within(log).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(within(items[0]).getByText('add a tier column')).toBeTruthy();
    expect(within(items[0]).getByText('HEAD → функция-1')).toBeTruthy();
    expect(within(items[0]).getByText(/clones: demo1/)).toBeTruthy();
    expect(within(items[0]).getByRole('link', { name: COMMIT_ID }).getAttribute('href')).toBe(href({ name: 'snapshot', id: COMMIT_ID }));
    expect(within(items[1]).getByText('(no message)')).toBeTruthy();
    expect(within(items[1]).getByText(/branched here: функция-1/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Create clone on this branch' }).getAttribute('href')).toBe(href({ name: 'create', branch: 'функция-1' }));
  });

  it('deletes a branch after confirmation, and shows why the engine refused', async () => {
    let refuse = true;
    const { calls } = fakeApi({
      'GET /branches': { json: [MAIN, FEATURE] },
      [`GET ${FEATURE_PATH}/log`]: { json: LOG },
      [`DELETE ${FEATURE_PATH}`]: () =>
        refuse
          ? { status: 400, json: { code: 'BAD_REQUEST', message: 'cannot delete branch "функция-1": clone(s) demo1 use it; destroy them first' } }
          : { json: { status: 'OK', message: 'Deleted branch' } },
    });
    render(withApp(<BranchPage id="функция-1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Delete branch…' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete branch' }));
    expect(await within(dialog).findByText(/clone\(s\) demo1 use it/)).toBeTruthy();
    refuse = false;
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete branch' }));
    await waitFor(() => expect(window.location.hash).toBe(href({ name: 'branches' })));
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(2);
  });

  it('offers no delete for main and says when a branch does not exist', async () => {
    fakeApi({ 'GET /branches': { json: [MAIN] }, 'GET /branch/main/log': { json: [LOG[1]] } });
    const { unmount } = render(withApp(<BranchPage id="main" />));
    await screen.findByRole('list', { name: 'Log of main' });
    expect(screen.queryByRole('button', { name: 'Delete branch…' })).toBeNull();
    unmount();
    render(withApp(<BranchPage id="gone" />));
    expect(await screen.findByText(/There is no branch "gone"/)).toBeTruthy();
  });
});

describe('commit from the clone page', () => {
  it('commits the clone with its message and links the new snapshot', async () => {
    const notify = vi.fn();
    const { calls } = fakeApi({
      'GET /status': { json: makeStatus() },
      'GET /snapshots': { json: [SNAPSHOT] },
      'GET /clone/demo1': { json: makeClone({ branch: 'функция-1' }) },
      'POST /branch/snapshot': { json: { snapshotID: COMMIT_ID } },
    });
    render(withApp(<ClonePage id="demo1" />, notify));
    const form = await screen.findByRole('form', { name: 'Commit' });
    fireEvent.change(within(form).getByLabelText('Commit message'), { target: { value: '  add a tier column ' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Commit' }));
    expect(await within(form).findByRole('link', { name: COMMIT_ID })).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ cloneID: 'demo1', message: 'add a tier column' });
    expect(notify).toHaveBeenCalledWith(`Committed clone demo1 as ${COMMIT_ID} on branch функция-1.`);
    expect(within(form).getByRole('link', { name: 'функция-1' }).getAttribute('href')).toBe(href({ name: 'branch', id: 'функция-1' }));
  });

  it('cannot commit while the clone is being created', async () => {
    fakeApi({ 'GET /status': { json: makeStatus() }, 'GET /snapshots': { json: [SNAPSHOT] }, 'GET /clone/demo1': { json: makeClone({}, 'CREATING') } });
    render(withApp(<ClonePage id="demo1" />));
    const form = await screen.findByRole('form', { name: 'Commit' });
    expect((within(form).getByRole('button', { name: 'Commit' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('snapshot protection', () => {
  it('protects a snapshot for a chosen time, shows its message and branch, and blocks delete while protected', async () => {
    const commit = { ...SNAPSHOT, numClones: 0, branch: 'функция-1', message: 'add a tier column', protected: false };
    const { calls } = fakeApi({
      'GET /status': { json: makeStatus() },
      'GET /snapshots': { json: [commit] },
      'GET /clones': { json: [] },
      'PATCH /snapshot/dblab_pool%40snapshot_20240105101010': (call) => ({
        json: { ...commit, protected: true, protectedTill: '2024-01-06T10:00:00Z', ...(call.body as object) },
      }),
    });
    render(withApp(<SnapshotPage id={SNAPSHOT.id} />));
    expect((await screen.findByTestId('snapshot-message')).textContent).toBe('add a tier column');
    expect(screen.getByRole('link', { name: 'функция-1' })).toBeTruthy();
    expect(((await screen.findByRole('button', { name: 'Delete snapshot…' })) as HTMLButtonElement).disabled).toBe(false);
    const form = screen.getByRole('form', { name: 'Snapshot protection' });
    fireEvent.click(within(form).getByLabelText('Protect from deletion'));
    // makeStatus caps protection at 7 days: no "Forever"
    const duration = within(form).getByLabelText('For') as HTMLSelectElement;
    expect([...duration.options].map((o) => o.textContent)).not.toContain('Forever');
    fireEvent.change(duration, { target: { value: '1440' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save protection' }));
    await waitFor(() => expect(screen.getByTestId('snapshot-protection-state').textContent).toMatch(/^Protected until 2024-01-0/));
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ protected: true, protectionDurationMinutes: 1440 });
    const button = screen.getByRole('button', { name: 'Delete snapshot…' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(document.getElementById(button.getAttribute('aria-describedby') ?? '')?.textContent).toMatch(/is protected/);
  });
});
