import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, DblabClient, errorFromResponse, loadToken, saveToken, setUnauthorizedHandler } from './api';
import { fakeApi, makeStatus, SNAPSHOT } from './test/fakeApi';

afterEach(() => setUnauthorizedHandler(null));

describe('DblabClient', () => {
  it('calls /api/ with the Verification-Token header', async () => {
    const { calls } = fakeApi({ 'GET /status': { json: makeStatus() } });
    const status = await new DblabClient('secret').status();
    expect(status.engine.version).toBe('0.1.0');
    expect(calls[0]).toMatchObject({ method: 'GET', path: '/status', token: 'secret' });
  });

  it('turns JSON errors into ApiError with the engine message', async () => {
    fakeApi({ 'DELETE /clone/x': { status: 409, json: { code: 'CONFLICT', message: 'clone "x" is protected' } } });
    const error = await new DblabClient('t').destroyClone('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'CONFLICT', message: 'clone "x" is protected', conflict: true });
  });

  it('describes a non-JSON error page in words', async () => {
    fakeApi({ 'GET /status': { status: 502, text: '<html><body><h1>Bad Gateway</h1></body></html>' } });
    const error = (await new DblabClient('t').status().catch((e: unknown) => e)) as ApiError;
    expect(error.message).toMatch(/bad gateway \(HTTP 502\): Bad Gateway/);
  });

  it('says the engine cannot be reached when fetch fails', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const error = (await new DblabClient('t').clones().catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.message).toMatch(/Cannot reach the dblab engine/);
  });

  it('reports 401 to the unauthorized handler', async () => {
    fakeApi({ 'GET /clones': { status: 401, json: { code: 'UNAUTHORIZED', message: 'wrong token' } } });
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    await expect(new DblabClient('bad').clones()).rejects.toMatchObject({ unauthorized: true });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('percent-encodes clone ids', async () => {
    const { calls } = fakeApi({ 'POST /clone/a%2Fb/reset': { json: {} } });
    await new DblabClient('t').resetClone('a/b', { latest: true });
    expect(calls[0]).toMatchObject({ path: '/clone/a%2Fb/reset', body: { latest: true } });
  });

  it('takes a snapshot with an empty POST /snapshot and returns it', async () => {
    const taken = { ...SNAPSHOT, id: 'dblab_pool@snapshot_20261127120000', numClones: 0 };
    const { calls, fetchMock } = fakeApi({ 'POST /snapshot': { json: taken } });
    const snapshot = await new DblabClient('t').createSnapshot();
    expect(snapshot).toEqual(taken);
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/snapshot', token: 't' });
    expect(fetchMock.mock.calls[0][1]?.body).toBeUndefined();
  });

  it('shows why a snapshot cannot be taken in logical mode (400)', async () => {
    fakeApi({ 'POST /snapshot': { status: 400, json: { code: 'BAD_REQUEST', message: 'snapshots are taken by retrieval: in logical mode new data comes with a full refresh' } } });
    const error = (await new DblabClient('t').createSnapshot().catch((e: unknown) => e)) as ApiError;
    expect(error).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(error.message).toMatch(/^snapshots are taken by retrieval/);
  });

  it('deletes a snapshot with its id percent-encoded', async () => {
    const { calls } = fakeApi({
      'DELETE /snapshot/dblab_pool%40snapshot_20261127120000': { json: { status: 'OK', message: 'Deleted snapshot dblab_pool@snapshot_20261127120000' } },
    });
    const answer = await new DblabClient('t').deleteSnapshot('dblab_pool@snapshot_20261127120000');
    expect(answer.message).toBe('Deleted snapshot dblab_pool@snapshot_20261127120000');
    expect(calls[0]).toMatchObject({ method: 'DELETE', path: '/snapshot/dblab_pool%40snapshot_20261127120000', body: undefined });
  });

  it('turns a refused snapshot delete (409) into a conflict with the engine message', async () => {
    const message = 'snapshot p@s is used by clone(s) a, b; destroy them or reset them to another snapshot first';
    fakeApi({ 'DELETE /snapshot/p%40s': { status: 409, json: { code: 'CONFLICT', message } } });
    const error = await new DblabClient('t').deleteSnapshot('p@s').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 409, conflict: true, message });
  });

  it('errorFromResponse falls back to the HTTP status in words', async () => {
    const error = await errorFromResponse(new Response('', { status: 503 }));
    expect(error.message).toBe('the engine is not ready (HTTP 503)');
  });
});

describe('token storage', () => {
  it('keeps the token for this tab only (sessionStorage), never in localStorage', () => {
    saveToken('abc');
    expect(loadToken()).toBe('abc');
    expect(sessionStorage.getItem('dblab.verificationToken')).toBe('abc');
    expect(localStorage.length).toBe(0);
    saveToken('');
    expect(loadToken()).toBe('');
    expect(sessionStorage.getItem('dblab.verificationToken')).toBeNull();
  });

  it('drops a token an older version left in localStorage instead of using it', () => {
    localStorage.setItem('dblab.verificationToken', 'old');
    expect(loadToken()).toBe('');
    expect(localStorage.getItem('dblab.verificationToken')).toBeNull();
  });
});
