// Starts a real dblab-engine (embedded default: demo source PostgreSQL, btrfs loop pool) in a
// temp dir for the end-to-end test, and removes every trace of it afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface RunningEngine {
  dir: string;
  port: number;
  url: string;
  token: string;
  process: ChildProcess;
  log: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export async function startEngine(binary: string, dir: string): Promise<RunningEngine> {
  if (!fs.existsSync(binary)) throw new Error(`no engine binary at ${binary}: run scripts/build.sh`);
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const log = path.join(dir, 'engine.log');
  const out = fs.openSync(log, 'a');
  const child = spawn(binary, ['--data-dir', dir, '--demo-scale', '1', '--demo-users', '500', '--port', String(port)], {
    stdio: ['ignore', out, out],
    cwd: '/',
  });
  fs.closeSync(out);
  // For scripts/test-ui.sh's safety net, should this process die before cleaning up.
  fs.writeFileSync(path.join(dir, '.engine-pid'), `${child.pid}\n`);
  const url = `http://127.0.0.1:${port}`;
  const tokenFile = path.join(dir, '.dblab-engine', 'token');
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const token = await waitFor('the engine token', 60_000, async () => {
    if (exited()) throw new Error(`engine exited: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    return fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() || undefined : undefined;
  });
  await waitFor('the first snapshot', 180_000, async () => {
    if (exited()) throw new Error(`engine exited: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    const response = await fetch(`${url}/api/snapshots`, { headers: { 'Verification-Token': token } });
    if (!response.ok) return undefined;
    const list = (await response.json()) as unknown[];
    return list.length > 0 ? true : undefined;
  });
  return { dir, port, url, token, process: child, log };
}

function pidsWithCwdUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const comm = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && comm.startsWith('postgres')) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM the engine; stop postgres servers living under dir; unmount; remove dir. */
export async function cleanupEngine(engine: { process?: ChildProcess; dir: string }): Promise<void> {
  const child = engine.process;
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await waitFor('the engine to stop', 20_000, async () => (child.exitCode !== null || child.signalCode !== null ? true : undefined)).catch(() => child.kill('SIGKILL'));
  }
  const dir = fs.existsSync(engine.dir) ? fs.realpathSync(engine.dir) : engine.dir;
  // Clone servers and the demo source are detached and outlive the engine: fast shutdown.
  for (const pid of pidsWithCwdUnder(dir)) signal(pid, 'SIGINT');
  await waitFor('postgres servers to stop', 15_000, async () => (pidsWithCwdUnder(dir).length === 0 ? true : undefined)).catch(() => {
    for (const pid of pidsWithCwdUnder(dir)) signal(pid, 'SIGKILL');
  });
  await sleep(200);
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((point) => point && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) {
    try {
      execFileSync('umount', [point], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
