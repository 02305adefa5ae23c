import { useState } from 'react';
import type { Branch, SnapshotDetails } from '../api';
import { BusyButton, ErrorMessage, Modal, Spinner } from '../components/common';
import { useApp } from '../context';
import { compactToIso, formatTime } from '../format';
import { usePolling } from '../hooks';
import { href, navigate } from '../router';
import { protectionLabel } from './Branches';

function DeleteBranchDialog({ name, onClose }: { name: string; onClose: () => void }) {
  const { client, notify } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await client.deleteBranch(name);
      notify(`Branch ${name} deleted.`);
      navigate({ name: 'branches' });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal title={`Delete branch ${name}?`} onClose={onClose} busy={busy}>
      <p>The branch and the snapshots only it holds (its commits) are deleted. The engine refuses while clones use the branch.</p>
      <ErrorMessage error={error} title="Delete failed:" />
      <div className="dialog-actions">
        <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy} data-autofocus>
          Cancel
        </button>
        <BusyButton variant="danger" busy={busy} busyLabel="Deleting…" onClick={remove}>
          Delete branch
        </BusyButton>
      </div>
    </Modal>
  );
}

/** One commit of the log, in the manner of `dblab log`. */
function Commit({ commit }: { commit: SnapshotDetails }) {
  return (
    <li className="commit">
      <div>
        <a href={href({ name: 'snapshot', id: commit.id })}>
          <code>{commit.id}</code>
        </a>
        {commit.branch.length > 0 && <span className="badge badge-neutral">HEAD → {commit.branch.join(', ')}</span>}
      </div>
      <div className="commit-message">{commit.message && commit.message !== '-' ? commit.message : <span className="muted">(no message)</span>}</div>
      <div className="muted">
        Data state time {formatTime(compactToIso(commit.dataStateAt))}
        {commit.clones.length > 0 ? ` · clones: ${commit.clones.join(', ')}` : ''}
        {commit.root.length > 0 ? ` · branched here: ${commit.root.join(', ')}` : ''}
      </div>
    </li>
  );
}

export function BranchPage({ id }: { id: string }) {
  const { client } = useApp();
  const [confirming, setConfirming] = useState(false);
  const data = usePolling<{ branch: Branch | undefined; log: SnapshotDetails[] }>(
    async () => {
      const branches = await client.branches();
      const branch = branches.find((b) => b.name === id);
      return { branch, log: branch ? await client.branchLog(id) : [] };
    },
    () => 10000,
    [client, id],
  );
  const branch = data.data?.branch;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Branch {id}</h1>
        <a href={href({ name: 'branches' })}>All branches</a>
      </div>
      {data.loading ? (
        <Spinner label="Loading the branch…" />
      ) : !data.data ? (
        <ErrorMessage error={data.error} title="Cannot load the branch:" onRetry={data.refresh} />
      ) : !branch ? (
        <div className="alert alert-error" role="alert">
          There is no branch "{id}" (it may have been deleted). <a href={href({ name: 'branches' })}>See the branches that exist.</a>
        </div>
      ) : (
        <>
          {data.error ? <ErrorMessage error={data.error} title="Live updates paused:" /> : null}
          <section className="card" aria-labelledby="branch-facts-title">
            <h2 id="branch-facts-title">{branch.name}</h2>
            <dl className="facts">
              <dt>Parent branch</dt>
              <dd>{branch.parent === '-' ? '—' : <a href={href({ name: 'branch', id: branch.parent })}>{branch.parent}</a>}</dd>
              <dt>Head snapshot</dt>
              <dd>
                <a href={href({ name: 'snapshot', id: branch.snapshotID })}>
                  <code>{branch.snapshotID}</code>
                </a>
              </dd>
              <dt>Data state time</dt>
              <dd>{formatTime(compactToIso(branch.dataStateAt))}</dd>
              <dt>Protection</dt>
              <dd>{protectionLabel(branch)}</dd>
            </dl>
            <div className="actions-row">
              <a className="btn btn-primary" href={href({ name: 'create', branch: branch.name })}>
                Create clone on this branch
              </a>
              {branch.name !== 'main' && (
                <BusyButton variant="danger" onClick={() => setConfirming(true)}>
                  Delete branch…
                </BusyButton>
              )}
            </div>
          </section>
          <section className="card" aria-labelledby="branch-log-title">
            <h2 id="branch-log-title">Log</h2>
            <ol className="plain-list commit-log" aria-label={`Log of ${branch.name}`}>
              {data.data.log.map((commit) => (
                <Commit key={commit.id} commit={commit} />
              ))}
            </ol>
          </section>
          {confirming && <DeleteBranchDialog name={branch.name} onClose={() => setConfirming(false)} />}
        </>
      )}
    </div>
  );
}
