import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, DblabClient, errorFromResponse, loadToken, saveToken, setUnauthorizedHandler } from './api';
import { fakeApi, makeStatus } from './test/fakeApi';

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

  it('errorFromResponse falls back to the HTTP status in words', async () => {
    const error = await errorFromResponse(new Response('', { status: 503 }));
    expect(error.message).toBe('the engine is not ready (HTTP 503)');
  });
});

describe('token storage', () => {
  it('keeps the token in localStorage', () => {
    saveToken('abc');
    expect(loadToken()).toBe('abc');
    saveToken('');
    expect(loadToken()).toBe('');
  });
});
