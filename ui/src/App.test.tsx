import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { loadToken, saveToken } from './api';
import { App } from './App';
import { fakeApi, makeClone, makeStatus, SNAPSHOT } from './test/fakeApi';

describe('login', () => {
  it('refuses a wrong token with a clear message and keeps nothing', async () => {
    fakeApi({ 'GET /status': { status: 401, json: { code: 'UNAUTHORIZED', message: 'missing or wrong Verification-Token header' } } });
    render(<App />);
    fireEvent.change(screen.getByLabelText('Verification token'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((screen.getByRole('button', { name: /Checking token/ }) as HTMLButtonElement).disabled).toBe(true);
    expect((await screen.findByRole('alert'))?.textContent).toMatch('The engine refused this token');
    expect(loadToken()).toBe('');
  });

  it('keeps a good token and sends it as Verification-Token', async () => {
    const { calls } = fakeApi({ 'GET /status': { json: makeStatus([makeClone()]) }, 'GET /snapshots': { json: [SNAPSHOT] } });
    render(<App />);
    fireEvent.change(screen.getByLabelText('Verification token'), { target: { value: ' good-token ' } });
    fireEvent.submit(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Dashboard' })).toBeTruthy();
    expect(loadToken()).toBe('good-token');
    expect(calls.every((c) => c.token === 'good-token')).toBe(true);
  });

  it('returns to the login with a message when the token stops working', async () => {
    saveToken('expired');
    fakeApi({
      'GET /status': { status: 401, json: { code: 'UNAUTHORIZED', message: 'wrong token' } },
      'GET /snapshots': { status: 401, json: { code: 'UNAUTHORIZED', message: 'wrong token' } },
    });
    render(<App />);
    expect((await screen.findByRole('alert'))?.textContent).toMatch(/token was refused by the engine/);
    expect(screen.getByLabelText('Verification token')).toBeTruthy();
    expect(loadToken()).toBe('');
  });
});

describe('dashboard', () => {
  it('shows the instance, disk usage, clones and a calendar marking snapshot days', async () => {
    saveToken('t');
    const clone = makeClone({ protected: true, protectedTill: '2024-01-06T10:00:00Z' });
    fakeApi({ 'GET /status': { json: makeStatus([clone, makeClone({ id: 'second', db: { ...clone.db, port: '6001' } }, 'CREATING')]) }, 'GET /snapshots': { json: [SNAPSHOT] } });
    render(<App />);
    const table = await screen.findByRole('table', { name: 'Clones' });
    const row = within(table).getByText('demo1').closest('tr')!;
    expect(within(row).getByText('OK')).toBeTruthy();
    expect(within(row).getByText('6000')).toBeTruthy();
    expect(within(row).getByText(/until/)).toBeTruthy();
    expect(within(row).getByRole('button', { name: 'Copy connection string of demo1' })).toBeTruthy();
    const creating = within(table).getByText('second').closest('tr')!;
    expect(within(creating).getByText('Creating')).toBeTruthy();
    expect((within(creating).getByRole('button', { name: 'Reset clone second' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByRole('img', { name: /Disk usage: 1.00 GiB used of 20.0 GiB/ })).toBeTruthy();
    expect((screen.getByText('Snapshots:', { exact: false }))?.textContent).toMatch('100 MiB');
    expect(screen.getByText('btrfs')).toBeTruthy();
    expect(await screen.findByText('January 2024')).toBeTruthy();
    const marked = screen.getByRole('button', { name: /January 5: 1 snapshot/ });
    fireEvent.click(marked);
    expect(marked.getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByText('Snapshots of 2024-01-05.')).toBeTruthy();
  });

  it('shows an API failure in words with a retry, never a blank page', async () => {
    saveToken('t');
    fakeApi({ 'GET /status': { status: 500, json: { code: 'INTERNAL', message: 'state store is locked' } }, 'GET /snapshots': { json: [] } });
    render(<App />);
    const alert = await screen.findByText('state store is locked');
    expect((alert.closest('[role=alert]'))?.textContent).toMatch('Cannot load the instance status');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('confirms before destroying from the table; Escape cancels', async () => {
    saveToken('t');
    const { calls } = fakeApi({
      'GET /status': { json: makeStatus([makeClone()]) },
      'GET /snapshots': { json: [SNAPSHOT] },
      'DELETE /clone/demo1': { json: { status: 'OK' } },
    });
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Destroy clone demo1' }));
    const dialog = screen.getByRole('dialog', { name: 'Destroy clone demo1?' });
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    fireEvent.keyDown(document, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Destroy clone demo1' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Destroy clone' }));
    await screen.findByText('Clone demo1 is being destroyed.');
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(1);
  });
});
