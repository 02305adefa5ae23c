import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { DblabClient, type Clone } from '../api';
import { AppContext } from '../context';
import { fakeApi, makeClone, makeStatus, OLD_SNAPSHOT, SNAPSHOT } from '../test/fakeApi';
import { ClonePage } from './ClonePage';

function withApp(children: ReactNode) {
  return <AppContext.Provider value={{ client: new DblabClient('t'), logout: vi.fn(), notify: vi.fn() }}>{children}</AppContext.Provider>;
}

const base = { 'GET /status': { json: makeStatus() }, 'GET /snapshots': { json: [SNAPSHOT, OLD_SNAPSHOT] } };

describe('clone page', () => {
  it('shows status, data state time, diff size, cloning time and connection strings', async () => {
    fakeApi({ ...base, 'GET /clone/demo1': { json: makeClone() } });
    render(withApp(<ClonePage id="demo1" />));
    expect(await screen.findByText('Clone is ready to accept Postgres connections.')).toBeTruthy();
    expect(screen.getByTestId('data-state-at').textContent).toMatch(/^2024-01-0/);
    expect(screen.getByText('12.1 KiB')).toBeTruthy();
    expect(screen.getByText('420 ms')).toBeTruthy();
    expect(screen.getByText('psql "host=127.0.0.1 port=6000 user=jworks dbname=demo"')).toBeTruthy();
  });

  it('resets to a chosen snapshot after confirmation and follows RESETTING to OK', async () => {
    let state: Clone = makeClone();
    const { calls } = fakeApi({
      ...base,
      'GET /clone/demo1': () => {
        const reply = { json: state };
        if (state.status.code === 'RESETTING') state = makeClone({ snapshot: OLD_SNAPSHOT });
        return reply;
      },
      'POST /clone/demo1/reset': () => {
        state = makeClone({}, 'RESETTING');
        return { json: state };
      },
    });
    render(withApp(<ClonePage id="demo1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Reset…' }));
    const dialog = screen.getByRole('dialog', { name: 'Reset clone demo1?' });
    fireEvent.click(within(dialog).getByLabelText('A snapshot I choose'));
    fireEvent.change(within(dialog).getByLabelText('Snapshot'), { target: { value: OLD_SNAPSHOT.id } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Reset clone' }));
    expect(await screen.findByText('Resetting', {}, { timeout: 2000 })).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ snapshotID: OLD_SNAPSHOT.id });
    expect(await screen.findByText(OLD_SNAPSHOT.id, {}, { timeout: 3000 })).toBeTruthy();
    expect(screen.getByText('OK')).toBeTruthy();
  });

  it('resets to the latest snapshot by default', async () => {
    const { calls } = fakeApi({ ...base, 'GET /clone/demo1': { json: makeClone() }, 'POST /clone/demo1/reset': { json: makeClone({}, 'RESETTING') } });
    render(withApp(<ClonePage id="demo1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Reset…' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Reset clone' }));
    await screen.findByText('Resetting');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ latest: true });
  });

  it('explains why a protected clone cannot be destroyed and offers to remove protection', async () => {
    let state = makeClone({ protected: true, protectedTill: '2024-01-06T10:00:00Z' });
    const { calls } = fakeApi({
      ...base,
      'GET /clone/demo1': () => ({ json: state }),
      'PATCH /clone/demo1': (call) => {
        state = makeClone({ protected: (call.body as { protected: boolean }).protected });
        return { json: state };
      },
      'DELETE /clone/demo1': () => {
        state = makeClone({}, 'DELETING');
        return { json: { status: 'OK' } };
      },
    });
    render(withApp(<ClonePage id="demo1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Destroy…' }));
    const dialog = screen.getByRole('dialog', { name: 'Destroy clone demo1?' });
    expect(within(dialog).getByRole('note').textContent).toMatch(/protected .* so the engine refuses to destroy it/);
    expect(within(dialog).queryByRole('button', { name: 'Destroy clone' })).toBeNull();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Remove protection' }));
    expect(within(dialog).getByRole('button', { name: /Removing protection/ })).toBeTruthy();
    fireEvent.click(await within(dialog).findByRole('button', { name: 'Destroy clone' }));
    expect(calls.filter((c) => c.method === 'PATCH')[0].body).toEqual({ protected: false });
    expect(await screen.findByText('Deleting', {}, { timeout: 2000 })).toBeTruthy();
    expect(calls.some((c) => c.method === 'DELETE')).toBe(true);
  });

  it('shows the engine refusal (409) when protection was added meanwhile', async () => {
    fakeApi({
      ...base,
      'GET /clone/demo1': { json: makeClone() },
      'DELETE /clone/demo1': { status: 409, json: { code: 'CONFLICT', message: 'clone "demo1" is protected; remove protection first' } },
    });
    render(withApp(<ClonePage id="demo1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Destroy…' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Destroy clone' }));
    expect((await within(dialog).findByRole('alert')).textContent).toMatch('is protected; remove protection first');
    expect(within(dialog).getByRole('button', { name: 'Remove protection' })).toBeTruthy();
  });

  it('turns protection on with a duration', async () => {
    let state = makeClone();
    const { calls } = fakeApi({
      ...base,
      'GET /clone/demo1': () => ({ json: state }),
      'PATCH /clone/demo1': () => {
        state = makeClone({ protected: true, protectedTill: '2024-01-12T10:00:00Z' });
        return { json: state };
      },
    });
    render(withApp(<ClonePage id="demo1" />));
    expect((await screen.findByTestId('protection-state')).textContent).toBe('Not protected');
    fireEvent.click(screen.getByLabelText('Protect from deletion'));
    fireEvent.change(screen.getByLabelText('Protection duration'), { target: { value: 'custom' } });
    fireEvent.change(screen.getByLabelText('Minutes of protection'), { target: { value: '99999' } });
    expect(screen.getByText(/allows at most 10080 minutes/)).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Minutes of protection'), { target: { value: '90' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save protection' }));
    await waitFor(() => expect(screen.getByTestId('protection-state').textContent).toMatch(/^Protected until 2024-01-1/));
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ protected: true, protectionDurationMinutes: 90 });
  });

  it('says so when the clone does not exist', async () => {
    fakeApi({ ...base, 'GET /clone/nope': { status: 404, json: { code: 'NOT_FOUND', message: 'clone "nope" not found' } } });
    render(withApp(<ClonePage id="nope" />));
    expect(await screen.findByText('There is no clone "nope": clone "nope" not found')).toBeTruthy();
  });
});
