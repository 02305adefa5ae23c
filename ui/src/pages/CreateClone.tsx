import { useEffect, useId, useRef, useState } from 'react';
import type { Clone, CreateCloneRequest, InstanceStatus, Snapshot } from '../api';
import { BusyButton, CopyLine, ErrorMessage, Field, Spinner, StatusBadge } from '../components/common';
import { ConnectionDetails } from '../components/ConnectionDetails';
import { DEFAULT_DURATION, DurationPicker, durationMinutes, type DurationChoice } from '../components/Protection';
import { useApp } from '../context';
import { cliCreateCommand, formatSeconds, formatTime, generatePassword, validateCloneId } from '../format';
import { useNow } from '../hooks';
import { href } from '../router';
import { statusInfo } from '../status';

export interface CreateForm {
  id: string;
  snapshotId: string; // '' = latest (the branch's head when a branch is given)
  branch?: string; // DLE 4: the clone belongs to this branch
  username: string;
  password: string;
  dbName: string;
  restricted: boolean;
  protect: boolean;
  duration: DurationChoice;
}

export function buildCreateRequest(form: CreateForm, max: number): CreateCloneRequest {
  const request: CreateCloneRequest = { db: { username: form.username.trim(), password: form.password } };
  if (form.id.trim()) request.id = form.id.trim();
  if (form.snapshotId) request.snapshot = { id: form.snapshotId };
  if (form.branch) request.branch = form.branch;
  if (form.dbName.trim()) request.db.db_name = form.dbName.trim();
  if (form.restricted) request.db.restricted = true;
  if (form.protect) {
    request.protected = true;
    const { minutes } = durationMinutes(form.duration, max);
    if (minutes !== undefined) request.protectionDurationMinutes = minutes;
  }
  return request;
}

type Errors = Partial<Record<'id' | 'username' | 'password' | 'duration', string>>;

export function validateCreateForm(form: CreateForm, max: number): Errors {
  const errors: Errors = {};
  const idError = validateCloneId(form.id.trim());
  if (idError) errors.id = idError;
  if (!form.username.trim()) errors.username = 'Enter a database user name.';
  else if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(form.username.trim())) errors.username = 'Letters, digits, "_", "$" or "-"; start with a letter or "_".';
  if (!form.password) errors.password = 'Enter a password or generate one.';
  if (form.protect) {
    const { error } = durationMinutes(form.duration, max);
    if (error) errors.duration = error;
  }
  return errors;
}

function Progress({ clone, startedAt, password }: { clone: Clone; startedAt: number; password: string }) {
  const now = useNow(200);
  const info = statusInfo(clone.status.code);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    headingRef.current?.focus();
  }, [info.transient]);
  if (info.transient) {
    return (
      <section className="card" aria-live="polite">
        <h2 ref={headingRef} tabIndex={-1}>
          Creating clone {clone.id}…
        </h2>
        <p>
          <StatusBadge code={clone.status.code} message={clone.status.message} /> {clone.status.message}
        </p>
        <div className="progress" role="progressbar" aria-label="Creating the clone" aria-busy="true">
          <span className="progress-indeterminate" />
        </div>
        <p className="muted">{((now - startedAt) / 1000).toFixed(1)} s elapsed</p>
      </section>
    );
  }
  if (clone.status.code === 'FATAL') {
    return (
      <section className="card">
        <h2 ref={headingRef} tabIndex={-1}>
          Clone {clone.id} failed
        </h2>
        <div className="alert alert-error" role="alert">
          The engine could not create the clone: {clone.status.message}
        </div>
        <p>
          <a href={href({ name: 'clone', id: clone.id })}>Open the clone's page</a> to destroy it, or <a href={href({ name: 'dashboard' })}>go back to the dashboard</a>.
        </p>
      </section>
    );
  }
  return (
    <section className="card" aria-live="polite">
      <h2 ref={headingRef} tabIndex={-1}>
        Clone {clone.id} is ready
      </h2>
      <p>
        <StatusBadge code={clone.status.code} message={clone.status.message} /> {clone.status.message} Created in{' '}
        <strong>{formatSeconds(clone.metadata.cloningTime)}</strong>.
      </p>
      <ConnectionDetails clone={clone} password={password} />
      <p className="actions-row">
        <a className="btn btn-primary" href={href({ name: 'clone', id: clone.id })}>
          Open clone page
        </a>
        <a className="btn btn-secondary" href={href({ name: 'dashboard' })}>
          Back to dashboard
        </a>
      </p>
    </section>
  );
}

export function CreateClonePage({ initialSnapshot, branch }: { initialSnapshot?: string; branch?: string }) {
  const { client, notify } = useApp();
  const uid = useId();
  const [status, setStatus] = useState<InstanceStatus | null>(null);
  const [snapshots, setSnapshots] = useState<Snapshot[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [form, setForm] = useState<CreateForm>({
    id: '',
    snapshotId: initialSnapshot ?? '',
    branch,
    username: '',
    password: '',
    dbName: '',
    restricted: false,
    protect: false,
    duration: DEFAULT_DURATION,
  });
  const [showPassword, setShowPassword] = useState(false);
  const [touched, setTouched] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ clone: Clone; startedAt: number; password: string } | null>(null);
  const [pollError, setPollError] = useState<unknown>(null);

  const load = () => {
    setLoadError(null);
    Promise.all([client.status(), client.snapshots()])
      .then(([s, list]) => {
        setStatus(s);
        setSnapshots([...list].sort((a, b) => (a.dataStateAt < b.dataStateAt ? 1 : -1)));
      })
      .catch(setLoadError);
  };
  useEffect(load, [client]);

  // While CREATING: poll the clone until it leaves the transient state.
  const createdId = created?.clone.id;
  const createdCode = created?.clone.status.code;
  useEffect(() => {
    if (!createdId || !statusInfo(createdCode).transient) return;
    let cancelled = false;
    const timer = setTimeout(async () => {
      try {
        const clone = await client.clone(createdId);
        if (!cancelled) {
          setPollError(null);
          setCreated((c) => (c ? { ...c, clone } : c));
        }
      } catch (e) {
        if (!cancelled) {
          setPollError(e);
          setCreated((c) => (c ? { ...c, clone: { ...c.clone } } : c)); // retry
        }
      }
    }, 300);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [client, createdId, createdCode, created]);

  const max = status?.cloning.protectionMaxDurationMinutes ?? 0;
  const lease = status?.cloning.protectionLeaseDurationMinutes ?? 0;
  const errors = validateCreateForm(form, max);
  const request = buildCreateRequest(form, max);
  const set = <K extends keyof CreateForm>(key: K, value: CreateForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const shownError = (key: keyof Errors) => (touched || (key === 'id' && form.id) ? errors[key] : undefined);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(errors).length > 0) {
      const first = Object.keys(errors)[0];
      document.getElementById(`${uid}-${first}`)?.focus();
      return;
    }
    setSubmitting(true);
    setSubmitError(null);
    try {
      const clone = await client.createClone(request);
      notify(`Clone ${clone.id} is being created.`);
      setCreated({ clone, startedAt: Date.now(), password: form.password });
    } catch (e) {
      setSubmitError(e);
    } finally {
      setSubmitting(false);
    }
  };

  if (created) {
    return (
      <div className="page">
        <div className="page-head">
          <h1>Create clone</h1>
        </div>
        <Progress clone={created.clone} startedAt={created.startedAt} password={created.password} />
        {pollError ? <ErrorMessage error={pollError} title="Checking the clone failed; retrying:" /> : null}
      </div>
    );
  }

  const latest = snapshots?.[0];
  const describedBy = (key: string, hint: boolean) => (errors[key as keyof Errors] && shownError(key as keyof Errors) ? `${uid}-${key}-error` : hint ? `${uid}-${key}-hint` : undefined);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Create clone</h1>
        <a href={href({ name: 'dashboard' })}>Back to dashboard</a>
      </div>
      <ErrorMessage error={loadError} title="Cannot load snapshots:" onRetry={load} />
      <form className="card form" onSubmit={submit} noValidate aria-label="Create clone">
        <Field label="Clone ID" htmlFor={`${uid}-id`} hint="Optional: the engine picks one when empty." error={shownError('id')}>
          <input
            id={`${uid}-id`}
            value={form.id}
            onChange={(e) => set('id', e.target.value)}
            autoComplete="off"
            spellCheck={false}
            maxLength={64}
            aria-invalid={Boolean(shownError('id'))}
            aria-describedby={describedBy('id', true)}
            disabled={submitting}
          />
        </Field>
        <Field label="Snapshot" htmlFor={`${uid}-snapshot`} hint="The clone holds the data as of this snapshot.">
          <select id={`${uid}-snapshot`} value={form.snapshotId} onChange={(e) => set('snapshotId', e.target.value)} disabled={submitting || !snapshots} aria-describedby={`${uid}-snapshot-hint`}>
            <option value="">
              {branch ? `Head of branch ${branch}` : latest ? `Latest (${formatTime(latest.dataStateAt)})` : snapshots ? 'Latest (no snapshot yet)' : 'Latest'}
            </option>
            {snapshots?.map((s) => (
              <option key={s.id} value={s.id}>
                {formatTime(s.dataStateAt)} — {s.id}
              </option>
            ))}
            {form.snapshotId && snapshots && !snapshots.some((s) => s.id === form.snapshotId) && <option value={form.snapshotId}>{form.snapshotId} (unknown)</option>}
          </select>
        </Field>
        <div className="form-row">
          <Field label="Database user" htmlFor={`${uid}-username`} error={shownError('username')} hint="Created in the clone.">
            <input
              id={`${uid}-username`}
              value={form.username}
              onChange={(e) => set('username', e.target.value)}
              autoComplete="off"
              spellCheck={false}
              required
              aria-invalid={Boolean(shownError('username'))}
              aria-describedby={describedBy('username', true)}
              disabled={submitting}
            />
          </Field>
          <Field label="Password" htmlFor={`${uid}-password`} error={shownError('password')} hint="Never stored by the engine: keep it.">
            <div className="input-group">
              <input
                id={`${uid}-password`}
                type={showPassword ? 'text' : 'password'}
                value={form.password}
                onChange={(e) => set('password', e.target.value)}
                autoComplete="new-password"
                spellCheck={false}
                required
                aria-invalid={Boolean(shownError('password'))}
                aria-describedby={describedBy('password', true)}
                disabled={submitting}
              />
              <button type="button" className="btn btn-small" onClick={() => setShowPassword((v) => !v)} aria-pressed={showPassword} disabled={submitting}>
                {showPassword ? 'Hide' : 'Show'}
              </button>
              <button
                type="button"
                className="btn btn-small"
                disabled={submitting}
                onClick={() => {
                  set('password', generatePassword());
                  setShowPassword(true);
                }}
              >
                Generate
              </button>
            </div>
          </Field>
        </div>
        <Field label="Database name" htmlFor={`${uid}-dbname`} hint="Optional: the database the user gets; by default the snapshot's main database.">
          <input id={`${uid}-dbname`} value={form.dbName} onChange={(e) => set('dbName', e.target.value)} autoComplete="off" spellCheck={false} disabled={submitting} aria-describedby={`${uid}-dbname-hint`} />
        </Field>
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={form.restricted} onChange={(e) => set('restricted', e.target.checked)} disabled={submitting} />
            Restricted user <span className="muted">(not a superuser; owns the database and its objects)</span>
          </label>
        </div>
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={form.protect} onChange={(e) => set('protect', e.target.checked)} disabled={submitting} />
            Protect from deletion <span className="muted">(neither destroyed by hand nor when idle)</span>
          </label>
          {form.protect && <DurationPicker value={form.duration} onChange={(d) => set('duration', d)} lease={lease} max={max} disabled={submitting} idPrefix={`${uid}-protect`} />}
        </div>
        <div className="summary">
          <p>
            Expected cloning time:{' '}
            <strong data-testid="expected-time">{status ? (status.cloning.expectedCloningTime > 0 ? `about ${formatSeconds(status.cloning.expectedCloningTime)}` : 'about a second (no clone made yet)') : '…'}</strong>
          </p>
          <CopyLine label="CLI" text={cliCreateCommand(request)} />
        </div>
        <ErrorMessage error={submitError} title="The clone was not created:" />
        <div className="actions-row">
          <BusyButton type="submit" variant="primary" busy={submitting} busyLabel="Creating clone…">
            Create clone
          </BusyButton>
          <a className="btn btn-secondary" href={href({ name: 'dashboard' })}>
            Cancel
          </a>
          {submitting && <Spinner label="Sending the request…" />}
        </div>
      </form>
    </div>
  );
}
