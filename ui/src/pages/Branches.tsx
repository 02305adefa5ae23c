import { useId, useState } from 'react';
import type { Branch, Snapshot } from '../api';
import { BusyButton, ErrorMessage, Field, Spinner } from '../components/common';
import { useApp } from '../context';
import { compactToIso, formatTime, validateBranchName } from '../format';
import { usePolling } from '../hooks';
import { href, navigate } from '../router';

export function protectionLabel(item: { protected?: boolean; protectedTill?: string }): string {
  if (!item.protected) return 'Not protected';
  return item.protectedTill ? `Protected until ${formatTime(item.protectedTill)}` : 'Protected without end';
}

/** POST /branch: from a base branch's head, or from one of its snapshots. */
function CreateBranchForm({ branches, snapshots, onCreated }: { branches: Branch[]; snapshots: Snapshot[]; onCreated: (name: string) => void }) {
  const { client, notify } = useApp();
  const uid = useId();
  const [name, setName] = useState('');
  const [base, setBase] = useState('main');
  const [snapshotId, setSnapshotId] = useState(''); // '' = the base branch's head
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const nameError = validateBranchName(name.trim());
  const baseSnapshots = snapshots.filter((s) => !s.branch || s.branch === base);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (nameError) return;
    setBusy(true);
    setError(null);
    try {
      const made = await client.createBranch({ branchName: name.trim(), baseBranch: base, ...(snapshotId ? { snapshotID: snapshotId } : {}) });
      notify(`Branch ${made.name} created.`);
      onCreated(made.name);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby={`${uid}-title`} noValidate>
      <h2 id={`${uid}-title`}>Create a branch</h2>
      <Field label="Branch name" htmlFor={`${uid}-name`} error={touched ? nameError : null} hint="Letters and digits of any script, “_” and “-”.">
        <input
          id={`${uid}-name`}
          value={name}
          maxLength={256}
          autoComplete="off"
          aria-invalid={touched && Boolean(nameError)}
          onChange={(e) => setName(e.target.value)}
          onBlur={() => setTouched(true)}
        />
      </Field>
      <Field label="Base branch" htmlFor={`${uid}-base`} hint="The new branch starts at its head.">
        <select
          id={`${uid}-base`}
          value={base}
          onChange={(e) => {
            setBase(e.target.value);
            setSnapshotId('');
          }}
        >
          {branches.map((b) => (
            <option key={b.name} value={b.name}>
              {b.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Start from snapshot" htmlFor={`${uid}-snapshot`} hint="Optional: an older snapshot of the base branch.">
        <select id={`${uid}-snapshot`} value={snapshotId} onChange={(e) => setSnapshotId(e.target.value)}>
          <option value="">Head of {base}</option>
          {baseSnapshots.map((s) => (
            <option key={s.id} value={s.id}>
              {s.id} ({formatTime(s.dataStateAt)}){s.message ? ` — ${s.message}` : ''}
            </option>
          ))}
        </select>
      </Field>
      <BusyButton type="submit" variant="primary" busy={busy} busyLabel="Creating…">
        Create branch
      </BusyButton>
      <ErrorMessage error={error} title="Could not create the branch:" />
    </form>
  );
}

export function BranchesPage() {
  const { client } = useApp();
  const data = usePolling(
    async () => {
      const [branches, snapshots] = await Promise.all([client.branches(), client.snapshots()]);
      return { branches, snapshots };
    },
    () => 10000,
    [client],
  );
  return (
    <div className="page">
      <div className="page-head">
        <h1>Branches</h1>
        <a href={href({ name: 'dashboard' })}>Back to dashboard</a>
      </div>
      {data.loading ? (
        <Spinner label="Loading branches…" />
      ) : !data.data ? (
        <ErrorMessage error={data.error} title="Cannot load the branches:" onRetry={data.refresh} />
      ) : (
        <>
          {data.error ? <ErrorMessage error={data.error} title="Live updates paused:" /> : null}
          <section className="card" aria-labelledby="branches-title">
            <h2 id="branches-title">All branches</h2>
            {data.data.branches.length === 0 ? (
              <p className="empty">No branches yet: main appears with the first snapshot.</p>
            ) : (
              <div className="table-wrap">
              <table className="table" aria-label="Branches">
                <thead>
                  <tr>
                    <th scope="col">Branch</th>
                    <th scope="col">Parent</th>
                    <th scope="col">Head snapshot</th>
                    <th scope="col">Data state time</th>
                    <th scope="col">Snapshots</th>
                    <th scope="col">Protection</th>
                  </tr>
                </thead>
                <tbody>
                  {data.data.branches.map((b) => (
                    <tr key={b.name}>
                      <td>
                        <a href={href({ name: 'branch', id: b.name })}>{b.name}</a>
                      </td>
                      <td>{b.parent === '-' ? '—' : b.parent}</td>
                      <td>
                        <a href={href({ name: 'snapshot', id: b.snapshotID })}>
                          <code>{b.snapshotID}</code>
                        </a>
                      </td>
                      <td>{formatTime(compactToIso(b.dataStateAt))}</td>
                      <td>{b.numSnapshots}</td>
                      <td>{protectionLabel(b)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </div>
            )}
          </section>
          {data.data.branches.length > 0 && (
            <CreateBranchForm
              branches={data.data.branches}
              snapshots={data.data.snapshots}
              onCreated={(name) => navigate({ name: 'branch', id: name })}
            />
          )}
        </>
      )}
    </div>
  );
}
