// Typed client for dblab-engine's DLE-compatible REST API, served under /api/ beside the UI.
// Field names are DLE's (see src/api/json_mapping.cc in the engine).

export type CloneStatusCode = 'OK' | 'CREATING' | 'RESETTING' | 'DELETING' | 'FATAL' | 'WARNING';

export interface Snapshot {
  id: string;
  createdAt: string;
  dataStateAt: string;
  physicalSize: number;
  logicalSize: number;
  pool: string;
  numClones: number;
  /** DLE 4: the branch it was made on, its commit message, the clones on it, its protection. */
  branch?: string;
  message?: string;
  clones?: string[];
  protected?: boolean;
  protectedTill?: string;
}

/** GET /branches (DLE's BranchView); dataStateAt is DLE's compact YYYYMMDDHHMMSS (UTC). */
export interface Branch {
  name: string;
  parent: string; // '-' for main
  dataStateAt: string;
  snapshotID: string;
  dataset: string;
  numSnapshots: number;
  protected: boolean;
  protectedTill?: string;
}

/** GET /branch/{name}/log items and GET /branch/snapshot/{id} (DLE's SnapshotDetails). */
export interface SnapshotDetails {
  id: string;
  parent: string; // '-' for a root
  child: string[];
  branch: string[]; // branches whose head it is
  root: string[]; // branches forked off it
  dataStateAt: string;
  message: string;
  dataset: string;
  clones: string[];
}

/** POST /branch: from a base branch's head, or from a snapshot (with both, the snapshot is where it starts). */
export interface CreateBranchRequest {
  branchName: string;
  baseBranch?: string;
  snapshotID?: string;
}

/** PATCH /snapshot/{id} and /branch/{name}, like a clone's protection. */
export interface ProtectionRequest {
  protected: boolean;
  protectionDurationMinutes?: number;
}

export interface CloneDb {
  connStr: string;
  host: string;
  port: string;
  username: string;
  password: string;
  dbName: string;
  restricted?: boolean;
}

export interface Clone {
  id: string;
  snapshot?: Partial<Snapshot> & { id: string };
  branch?: string;
  protected: boolean;
  protectedTill?: string;
  /** DLE's Clone.deleteAt: always null (DLE never schedules a clone's deletion). */
  deleteAt?: string | null;
  createdAt: string;
  status: { code: CloneStatusCode | string; message: string };
  db: CloneDb;
  metadata: {
    cloneDiffSize: number;
    logicalSize: number;
    cloningTime: number;
    maxIdleMinutes: number;
    protectionLeaseDurationMinutes?: number;
    protectionMaxDurationMinutes?: number;
  };
}

export interface PoolFileSystem {
  mode: string;
  size: number;
  free: number;
  used: number;
  dataSize: number;
  usedBySnapshots: number;
  usedByClones: number;
}

export interface Pool {
  name: string;
  mode: string;
  dataStateAt: string | null;
  status: string;
  cloneList: string[];
  fileSystem: PoolFileSystem;
}

/** One retrieval alert type's state, as DLE's models.Alert. */
export interface RetrievalAlert {
  level: 'error' | 'warning' | 'unknown' | string;
  /** The newest message of this type. */
  message: string;
  lastSeen: string;
  /** Times raised since the alerts were last cleared (a successful refresh clears them). */
  count: number;
}

export interface InstanceStatus {
  status: { code: string; message: string };
  engine: { version: string; edition: string; instanceID: string; startedAt: string };
  pools: Pool[];
  cloning: {
    expectedCloningTime: number;
    numClones: number;
    clones: Clone[];
    protectionLeaseDurationMinutes: number;
    protectionMaxDurationMinutes: number;
  };
  retrieving: {
    mode: string;
    status: string;
    lastRefresh: string | null;
    nextRefresh: string | null;
    /** DLE's alerts keyed by type (refresh_failed, refresh_skipped, replica_down). */
    alerts: Record<string, RetrievalAlert>;
    progress?: string;
  };
}

export interface CreateCloneRequest {
  id?: string;
  snapshot?: { id: string };
  /** DLE 4: the clone starts from this branch's head (unless snapshot is given) and belongs to it. */
  branch?: string;
  protected?: boolean;
  protectionDurationMinutes?: number;
  db: { username: string; password: string; db_name?: string; restricted?: boolean };
}

export interface ResetCloneRequest {
  snapshotID?: string;
  latest?: boolean;
}

/** The answer to DELETE /snapshot/{id}. */
export interface StatusResponse {
  status: string;
  message: string;
}

export interface UpdateCloneRequest {
  protected: boolean;
  protectionDurationMinutes?: number;
}

/** An API failure, always with a message a person can read. */
export class ApiError extends Error {
  readonly status: number; // HTTP status; 0 when the engine could not be reached
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
}

const TOKEN_KEY = 'dblab.verificationToken';
export const API_BASE = '/api';

/**
 * The token lives in sessionStorage: it survives reloads of this tab and is gone when the tab
 * closes; other tabs and later visits ask again. Nothing is kept in localStorage, and a token
 * an older version left there is removed, not used.
 */
export function loadToken(): string {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // no storage at all
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private mode without storage: the token lives for this page only.
  }
}

const HTTP_WORDS: Record<number, string> = {
  400: 'the request was refused as invalid',
  401: 'the token was refused',
  403: 'access is forbidden',
  404: 'not found',
  405: 'this action is not supported',
  409: 'conflict',
  413: 'the request is too large',
  429: 'too many wrong tokens from this address; wait and retry',
  500: 'the engine had an internal error',
  502: 'bad gateway',
  503: 'the engine is not ready',
  504: 'the engine did not answer in time',
};

/** Turns any failed fetch or non-2xx response into an ApiError with words in it. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // keep text empty
  }
  let code = `HTTP_${response.status}`;
  let message = '';
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; details?: unknown };
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.message === 'string') message = body.message;
    if (!message && typeof body.details === 'string') message = body.details;
  } catch {
    // not JSON: a proxy error page or plain text
  }
  const words = HTTP_WORDS[response.status] ?? 'the request failed';
  if (!message) {
    const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
    message = plain ? `${words} (HTTP ${response.status}): ${plain}` : `${words} (HTTP ${response.status})`;
  }
  return new ApiError(response.status, code, message);
}

type UnauthorizedListener = (error: ApiError) => void;
let onUnauthorized: UnauthorizedListener | null = null;

/** The app registers here to return to the login page when the token stops working. */
export function setUnauthorizedHandler(listener: UnauthorizedListener | null): void {
  onUnauthorized = listener;
}

export class DblabClient {
  constructor(
    private readonly token: string,
    private readonly base: string = API_BASE,
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers['Verification-Token'] = this.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ApiError(0, 'NETWORK', `Cannot reach the dblab engine (${reason}). Is it running?`);
    }
    if (!response.ok) {
      const error = await errorFromResponse(response);
      if (error.unauthorized && onUnauthorized) onUnauthorized(error);
      throw error;
    }
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(response.status, 'BAD_RESPONSE', `The engine sent an answer that is not JSON (HTTP ${response.status}).`);
    }
  }

  status(): Promise<InstanceStatus> {
    return this.request('GET', '/status');
  }
  snapshots(): Promise<Snapshot[]> {
    return this.request('GET', '/snapshots');
  }
  clones(): Promise<Clone[]> {
    return this.request('GET', '/clones');
  }
  clone(id: string): Promise<Clone> {
    return this.request('GET', `/clone/${encodeURIComponent(id)}`);
  }
  createClone(request: CreateCloneRequest): Promise<Clone> {
    return this.request('POST', '/clone', request);
  }
  resetClone(id: string, request: ResetCloneRequest): Promise<Clone> {
    return this.request('POST', `/clone/${encodeURIComponent(id)}/reset`, request);
  }
  updateClone(id: string, request: UpdateCloneRequest): Promise<Clone> {
    return this.request('PATCH', `/clone/${encodeURIComponent(id)}`, request);
  }
  destroyClone(id: string): Promise<unknown> {
    return this.request('DELETE', `/clone/${encodeURIComponent(id)}`);
  }
  /** Takes a snapshot now (physical retrieval only); answers once it is recorded, which can take seconds. */
  createSnapshot(): Promise<Snapshot> {
    return this.request('POST', '/snapshot');
  }
  /** Refused (409) while clones use the snapshot, 400 while it is protected. */
  deleteSnapshot(id: string): Promise<StatusResponse> {
    return this.request('DELETE', `/snapshot/${encodeURIComponent(id)}`);
  }
  snapshot(id: string): Promise<Snapshot> {
    return this.request('GET', `/snapshot/${encodeURIComponent(id)}`);
  }
  updateSnapshot(id: string, request: ProtectionRequest): Promise<Snapshot> {
    return this.request('PATCH', `/snapshot/${encodeURIComponent(id)}`, request);
  }
  branches(): Promise<Branch[]> {
    return this.request('GET', '/branches');
  }
  createBranch(request: CreateBranchRequest): Promise<{ name: string }> {
    return this.request('POST', '/branch', request);
  }
  /** Refused (400) for main, a protected branch, one clones use or one other branches forked off. */
  deleteBranch(name: string): Promise<StatusResponse> {
    return this.request('DELETE', `/branch/${encodeURIComponent(name)}`);
  }
  /** The branch's commits, head first. */
  branchLog(name: string): Promise<SnapshotDetails[]> {
    return this.request('GET', `/branch/${encodeURIComponent(name)}/log`);
  }
  /** A commit: a snapshot of the clone on its branch, with a message; the clone then stands on it. */
  commit(cloneID: string, message: string): Promise<{ snapshotID: string }> {
    return this.request('POST', '/branch/snapshot', { cloneID, message });
  }
  /** DLE's GET /admin/ws-auth: a one-time token (valid 60 s) that opens one log stream. */
  logStreamToken(): Promise<{ token: string }> {
    return this.request('GET', '/admin/ws-auth');
  }
}

/**
 * The WebSocket URL of the engine's live log (DLE's /instance/logs) on this page's host. The
 * token is a one-time token from logStreamToken(), never the Verification-Token.
 */
export function logStreamUrl(token: string, location: { protocol: string; host: string } = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${API_BASE}/instance/logs?token=${encodeURIComponent(token)}`;
}

/** The message to show for any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
