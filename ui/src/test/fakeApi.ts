import { vi } from 'vitest';
import type { Clone, InstanceStatus, Snapshot } from '../api';

export interface Call {
  method: string;
  path: string;
  body: unknown;
  token: string | null;
}

type Reply = { status?: number; json?: unknown; text?: string };
type Handler = (call: Call) => Reply | Promise<Reply>;

/** Replaces fetch with a fake engine: handlers keyed by "METHOD /path" (path without /api). */
export function fakeApi(handlers: Record<string, Handler | Reply>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const path = url.replace(/^\/api/, '');
    const call: Call = { method, path, body: init?.body ? JSON.parse(String(init.body)) : undefined, token: headers['Verification-Token'] ?? null };
    calls.push(call);
    const handler = handlers[`${method} ${path}`];
    if (!handler) return new Response(JSON.stringify({ code: 'NOT_FOUND', message: `no fake for ${method} ${path}` }), { status: 404 });
    const reply = typeof handler === 'function' ? await handler(call) : handler;
    const body = reply.text ?? JSON.stringify(reply.json ?? {});
    return new Response(body, { status: reply.status ?? 200, headers: { 'Content-Type': reply.text ? 'text/html' : 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, fetchMock };
}

export const SNAPSHOT: Snapshot = {
  id: 'dblab_pool@snapshot_20240105101010',
  createdAt: '2024-01-05T10:10:10Z',
  dataStateAt: '2024-01-05T10:00:00Z',
  physicalSize: 80 * 1024 * 1024,
  logicalSize: 80 * 1024 * 1024,
  pool: 'dblab_pool',
  numClones: 1,
};

export const OLD_SNAPSHOT: Snapshot = { ...SNAPSHOT, id: 'dblab_pool@snapshot_20240102101010', dataStateAt: '2024-01-02T10:00:00Z', createdAt: '2024-01-02T10:10:10Z', numClones: 0 };

export function makeClone(overrides: Partial<Clone> = {}, code = 'OK'): Clone {
  return {
    id: 'demo1',
    snapshot: SNAPSHOT,
    branch: 'main',
    protected: false,
    createdAt: '2024-01-05T11:00:00Z',
    status: { code, message: code === 'OK' ? 'Clone is ready to accept Postgres connections.' : `Clone is ${code}` },
    db: { connStr: 'host=127.0.0.1 port=6000 user=jworks dbname=demo', host: '127.0.0.1', port: '6000', username: 'jworks', password: '', dbName: 'demo', restricted: false },
    metadata: { cloneDiffSize: 12345, logicalSize: SNAPSHOT.logicalSize, cloningTime: 0.42, maxIdleMinutes: 120, protectionLeaseDurationMinutes: 1440, protectionMaxDurationMinutes: 10080 },
    ...overrides,
  };
}

export function makeStatus(clones: Clone[] = []): InstanceStatus {
  return {
    status: { code: 'OK', message: 'Instance is ready' },
    engine: { version: '0.1.0', edition: 'community', instanceID: 'abc', startedAt: '2024-01-05T09:00:00Z' },
    pools: [
      {
        name: 'dblab_pool',
        mode: 'btrfs',
        dataStateAt: SNAPSHOT.dataStateAt,
        status: 'active',
        cloneList: clones.map((c) => c.id),
        fileSystem: { mode: 'btrfs', size: 20 * 2 ** 30, free: 19 * 2 ** 30, used: 2 ** 30, dataSize: 80 * 2 ** 20, usedBySnapshots: 100 * 2 ** 20, usedByClones: 200 * 2 ** 20 },
      },
    ],
    cloning: { expectedCloningTime: 0.5, numClones: clones.length, clones, protectionLeaseDurationMinutes: 1440, protectionMaxDurationMinutes: 10080 },
    retrieving: { mode: 'logical', status: 'finished', lastRefresh: '2024-01-05T10:10:10Z', nextRefresh: null, alerts: {}, progress: '' },
  };
}
