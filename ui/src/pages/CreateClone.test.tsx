import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { DblabClient } from '../api';
import { AppContext } from '../context';
import { fakeApi, makeClone, makeStatus, OLD_SNAPSHOT, SNAPSHOT } from '../test/fakeApi';
import { buildCreateRequest, CreateClonePage } from './CreateClone';

function withApp(children: ReactNode) {
  return <AppContext.Provider value={{ client: new DblabClient('t'), logout: vi.fn(), notify: vi.fn() }}>{children}</AppContext.Provider>;
}

const base = { 'GET /status': { json: makeStatus() }, 'GET /snapshots': { json: [OLD_SNAPSHOT, SNAPSHOT] } };

describe('create clone form', () => {
  it('defaults to the latest snapshot and shows the expected time and CLI command', async () => {
    fakeApi(base);
    render(withApp(<CreateClonePage />));
    const select = (await screen.findByLabelText('Snapshot')) as HTMLSelectElement;
    await waitFor(() => expect(select.options[0].textContent).toMatch(/^Latest \(2024-01-05/));
    expect(select.value).toBe('');
    expect(screen.getByTestId('expected-time').textContent).toBe('about 500 ms');
    fireEvent.change(screen.getByLabelText('Clone ID'), { target: { value: 'feature-1' } });
    fireEvent.change(screen.getByLabelText('Database user'), { target: { value: 'neal' } });
    expect(screen.getByText(/^dblab clone create/).textContent).toBe("dblab clone create --id feature-1 --username neal --password <password>");
  });

  it('validates before sending and focuses the first problem', async () => {
    const { calls } = fakeApi(base);
    render(withApp(<CreateClonePage />));
    fireEvent.change(await screen.findByLabelText('Clone ID'), { target: { value: '-bad id' } });
    expect(screen.getByText(/Start with a letter or digit/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Create clone' }));
    expect(screen.getByText('Enter a database user name.')).toBeTruthy();
    expect(screen.getByText('Enter a password or generate one.')).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByLabelText('Clone ID'));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('generates a password and shows it', async () => {
    fakeApi(base);
    render(withApp(<CreateClonePage />));
    const password = (await screen.findByLabelText('Password')) as HTMLInputElement;
    expect(password.type).toBe('password');
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    expect(password.value).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(password.type).toBe('text');
  });

  it('sends the request, shows progress while CREATING, then the connection details', async () => {
    let polls = 0;
    const { calls } = fakeApi({
      ...base,
      'POST /clone': { status: 201, json: makeClone({ id: 'feature-1' }, 'CREATING') },
      'GET /clone/feature-1': () => ({ json: makeClone({ id: 'feature-1' }, ++polls < 2 ? 'CREATING' : 'OK') }),
    });
    render(withApp(<CreateClonePage initialSnapshot={OLD_SNAPSHOT.id} />));
    await waitFor(() => expect((screen.getByLabelText('Snapshot') as HTMLSelectElement).value).toBe(OLD_SNAPSHOT.id));
    fireEvent.change(screen.getByLabelText('Clone ID'), { target: { value: 'feature-1' } });
    fireEvent.change(screen.getByLabelText('Database user'), { target: { value: 'jworks' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'rocks' } });
    fireEvent.change(screen.getByLabelText('Database name'), { target: { value: 'demo' } });
    fireEvent.click(screen.getByLabelText(/Restricted user/));
    fireEvent.click(screen.getByLabelText(/Protect from deletion/));
    fireEvent.change(screen.getByLabelText('Protection duration'), { target: { value: '60' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create clone' }));
    expect(await screen.findByRole('heading', { name: 'Creating clone feature-1…' })).toBeTruthy();
    expect(screen.getByRole('progressbar')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      id: 'feature-1',
      snapshot: { id: OLD_SNAPSHOT.id },
      protected: true,
      protectionDurationMinutes: 60,
      db: { username: 'jworks', password: 'rocks', db_name: 'demo', restricted: true },
    });
    expect(await screen.findByRole('heading', { name: 'Clone feature-1 is ready' }, { timeout: 3000 })).toBeTruthy();
    expect(screen.getByText('psql "host=127.0.0.1 port=6000 user=jworks dbname=demo"')).toBeTruthy();
    expect(screen.getByText('jdbc:postgresql://127.0.0.1:6000/demo?user=jworks')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy psql' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy JDBC' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Show' }));
    expect(screen.getByTestId('password').textContent).toBe('rocks');
  });

  it('shows a FATAL clone with the engine message', async () => {
    fakeApi({
      ...base,
      'POST /clone': { status: 201, json: makeClone({ id: 'x1' }, 'CREATING') },
      'GET /clone/x1': { json: { ...makeClone({ id: 'x1' }, 'FATAL'), status: { code: 'FATAL', message: 'postgres did not start: port in use' } } },
    });
    render(withApp(<CreateClonePage />));
    fireEvent.change(await screen.findByLabelText('Database user'), { target: { value: 'u' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'p' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create clone' }));
    const alert = await screen.findByRole('alert', {}, { timeout: 3000 });
    expect(alert.textContent).toMatch('postgres did not start: port in use');
  });

  it('shows a refused request in words and keeps the form', async () => {
    fakeApi({ ...base, 'POST /clone': { status: 409, json: { code: 'CONFLICT', message: 'clone "c1" already exists; choose another id' } } });
    render(withApp(<CreateClonePage />));
    fireEvent.change(await screen.findByLabelText('Clone ID'), { target: { value: 'c1' } });
    fireEvent.change(screen.getByLabelText('Database user'), { target: { value: 'u' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'p' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create clone' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch('The clone was not created: clone "c1" already exists; choose another id');
    expect((screen.getByLabelText('Clone ID') as HTMLInputElement).value).toBe('c1');
    expect(within(screen.getByRole('form', { name: 'Create clone' })).getByRole('button', { name: 'Create clone' })).toBeTruthy();
  });

  it('buildCreateRequest leaves out empty optional fields', () => {
    expect(
      buildCreateRequest({ id: ' ', snapshotId: '', username: ' u ', password: 'p', dbName: '', restricted: false, protect: true, duration: { option: 'default', custom: '' } }, 0),
    ).toEqual({ protected: true, db: { username: 'u', password: 'p' } });
  });
});
