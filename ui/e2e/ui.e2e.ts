// End-to-end: the web UI in headless Chromium (playwright-core, Debian's /usr/bin/chromium)
// against a real dblab-engine with a real btrfs pool and real PostgreSQL servers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupEngine, startEngine, waitFor, type RunningEngine } from './engine';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const engineBinary = process.env.DBLAB_ENGINE ?? path.join(repo, 'build', 'dblab-engine');
const screenshots = process.env.DBLAB_SCREENSHOTS ?? path.join(repo, 'docs', 'screenshots');
const CLONE = 'e2e-clone';
const USER = 'e2e_user';

let engine: RunningEngine | undefined;
let dir = '';
let userDataDir = '';
let browser: BrowserContext | undefined;
let page: Page;
let password = '';
let port = '';

function psql(sql: string, pass = password): string {
  return execFileSync('psql', [`host=127.0.0.1 port=${port} user=${USER} dbname=demo connect_timeout=5`, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, PGPASSWORD: pass },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

async function api<T>(pathname: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${engine!.url}/api${pathname}`, { headers: { 'Verification-Token': engine!.token } });
  return { status: response.status, body: (await response.json()) as T };
}

async function cloneStatus(): Promise<string> {
  const { status, body } = await api<{ status?: { code: string } }>(`/clone/${CLONE}`);
  return status === 404 ? 'GONE' : (body.status?.code ?? `HTTP ${status}`);
}

/** Waits until the transient notices are gone so screenshots show the page itself. */
async function screenshot(name: string) {
  await expect.poll(() => page.locator('.notice').count(), { timeout: 10_000 }).toBe(0);
  await page.screenshot({ path: path.join(screenshots, name) });
}

async function noHorizontalScroll(width: number) {
  await page.setViewportSize({ width, height: 900 });
  await page.waitForTimeout(150);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(scrollWidth, `page wider than ${width}px`).toBeLessThanOrEqual(width);
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(here, '..', 'dist', 'index.html'))) throw new Error('ui/dist is missing: run npm run build first');
  dir = process.env.DBLAB_UI_E2E_DIR ?? fs.mkdtempSync('/tmp/dblab-ui-');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(screenshots, { recursive: true });
  engine = await startEngine(engineBinary, dir);
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dblab-ui-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  if (engine) {
    console.log(`engine log: ${fs.readFileSync(engine.log, 'utf8').split('\n').length} lines`);
    await cleanupEngine(engine);
  } else if (dir) {
    await cleanupEngine({ dir });
  }
});

describe('web UI against a real engine', () => {
  it('serves the UI at / and the API under /api/', async () => {
    const root = await fetch(`${engine!.url}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('<div id="root">');
    const healthz = await fetch(`${engine!.url}/api/healthz`);
    expect(healthz.status).toBe(200);
  });

  it('refuses a wrong token with a clear message', async () => {
    await page.goto(`${engine!.url}/`);
    await page.getByLabel('Verification token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/refused this token/);
    expect(await page.evaluate(() => sessionStorage.getItem('dblab.verificationToken'))).toBeNull();
  });

  it('logs in with the keyboard and shows the dashboard', async () => {
    const input = page.getByLabel('Verification token');
    await input.fill('');
    await input.focus();
    await page.keyboard.type(engine!.token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('Instance is ready').waitFor();
    await page.getByText('btrfs').first().waitFor();
    await page.getByRole('button', { name: /1 snapshot/ }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('dblab.verificationToken'))).toBe(engine!.token);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it('creates a clone from the form and shows its connection details once OK', async () => {
    await page.getByRole('link', { name: 'Create clone' }).first().click();
    await page.getByRole('heading', { name: 'Create clone' }).waitFor();
    await page.getByLabel('Clone ID').fill(CLONE);
    await page.getByLabel('Database user').fill(USER);
    await page.getByRole('button', { name: 'Generate' }).click();
    password = await page.getByLabel('Password').inputValue();
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    await page.getByText(`dblab clone create --id ${CLONE} --username ${USER}`).waitFor();
    await page.getByText(/Latest \(/).first().waitFor({ state: 'attached' });
    await screenshot('create-clone.png');
    await noHorizontalScroll(390);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByRole('button', { name: 'Create clone' }).click();
    await page.getByRole('heading', { name: `Clone ${CLONE} is ready` }).waitFor({ timeout: 60_000 });
    expect(await cloneStatus()).toBe('OK');
    port = (await api<{ db: { port: string } }>(`/clone/${CLONE}`)).body.db.port;
    await page.getByText(`psql "host=127.0.0.1 port=${port} user=${USER} dbname=demo"`).waitFor();
    await page.getByText(`jdbc:postgresql://127.0.0.1:${port}/demo?user=${USER}`).waitFor();
    await page.getByRole('button', { name: 'Copy psql' }).waitFor();
  });

  it('connects with libpq and writes', () => {
    expect(psql('SELECT count(*) FROM users')).toBe('500');
    psql("CREATE TABLE e2e_marker (note text); INSERT INTO e2e_marker VALUES ('written by the UI e2e test'); UPDATE users SET full_name = 'changed by e2e'");
    expect(psql("SELECT count(*) FROM users WHERE full_name = 'changed by e2e'")).toBe('500');
    expect(psql('SELECT note FROM e2e_marker')).toBe('written by the UI e2e test');
  });

  it('shows the clone on the dashboard and at 390 px', async () => {
    await page.goto(`${engine!.url}/#/`);
    const row = page.locator(`tr[data-clone-id="${CLONE}"]`);
    await row.locator('[data-status="OK"]').waitFor();
    await row.getByText(port, { exact: true }).waitFor();
    await screenshot('dashboard.png');
    await noHorizontalScroll(390);
    await row.getByRole('link', { name: CLONE }).waitFor();
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('resets the clone from its page and the data is back', async () => {
    await page.locator(`tr[data-clone-id="${CLONE}"]`).getByRole('link', { name: CLONE }).click();
    await page.getByRole('heading', { name: `Clone ${CLONE}` }).waitFor();
    await page.getByTestId('status-message').waitFor();
    await screenshot('clone-page.png');
    await noHorizontalScroll(390);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByRole('button', { name: 'Reset…' }).click();
    const dialog = page.getByRole('dialog', { name: `Reset clone ${CLONE}?` });
    await dialog.getByLabel(/The latest snapshot/).waitFor();
    await dialog.getByRole('button', { name: 'Reset clone' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    await waitFor('the reset to finish', 60_000, async () => ((await cloneStatus()) === 'OK' ? true : undefined));
    await page.locator('[data-status="OK"]').waitFor();
    expect(psql('SELECT count(*) FROM users')).toBe('500');
    expect(psql("SELECT count(*) FROM users WHERE full_name = 'changed by e2e'")).toBe('0');
    expect(psql("SELECT to_regclass('e2e_marker') IS NULL")).toBe('t');
  });

  it('commits the clone with a message, branches off it, reads the log and protects the commit', async () => {
    psql("CREATE TABLE e2e_commit (note text); INSERT INTO e2e_commit VALUES ('committed from the UI')");
    const form = page.getByRole('form', { name: 'Commit' });
    await form.getByLabel('Commit message').fill('e2e: add e2e_commit');
    await form.getByRole('button', { name: 'Commit' }).click();
    const made = form.getByRole('link', { name: /@/ });
    await made.waitFor({ timeout: 120_000 });
    const commitId = (await made.textContent()) ?? '';
    const main = await api<{ name: string; snapshotID: string }[]>('/branches');
    expect(main.body.find((b) => b.name === 'main')?.snapshotID).toBe(commitId);

    const branch = 'e2e-ветка';
    await page.getByRole('link', { name: 'Branches' }).click();
    await page.getByRole('table', { name: 'Branches' }).getByRole('link', { name: 'main' }).waitFor();
    await page.getByLabel('Branch name').fill(branch);
    await page.getByRole('button', { name: 'Create branch' }).click();
    await page.getByRole('heading', { name: `Branch ${branch}` }).waitFor();
    const log = page.getByRole('list', { name: `Log of ${branch}` });
    await log.getByText('e2e: add e2e_commit').waitFor();
    await log.getByText(`branched here: ${branch}`).waitFor();
    await screenshot('branch.png');
    await noHorizontalScroll(390);
    await page.setViewportSize({ width: 1280, height: 900 });
    const created = await api<{ name: string; parent: string; snapshotID: string }[]>('/branches');
    expect(created.body.find((b) => b.name === branch)).toMatchObject({ parent: 'main', snapshotID: commitId });

    await log.getByRole('link', { name: commitId }).click();
    await page.getByTestId('snapshot-message').waitFor();
    expect(await page.getByTestId('snapshot-message').textContent()).toBe('e2e: add e2e_commit');
    const protection = page.getByRole('form', { name: 'Snapshot protection' });
    await protection.getByLabel('Protect from deletion').check();
    await protection.getByRole('button', { name: 'Save protection' }).click();
    await expect.poll(() => page.getByTestId('snapshot-protection-state').textContent()).toMatch(/^Protected/);
    const snapshot = await api<{ protected: boolean; message: string; branch: string }>(`/snapshot/${encodeURIComponent(commitId)}`);
    expect(snapshot.body).toMatchObject({ protected: true, message: 'e2e: add e2e_commit', branch: 'main' });
    expect(await page.getByRole('button', { name: 'Delete snapshot…' }).isDisabled()).toBe(true);
    await protection.getByLabel('Protect from deletion').uncheck();
    await protection.getByRole('button', { name: 'Save protection' }).click();
    await expect.poll(() => page.getByTestId('snapshot-protection-state').textContent()).toBe('Not protected');

    // Back to the clone: it stands on the commit, and its data is the committed data.
    await page.goto(`${engine!.url}/#/clones/${CLONE}`);
    await page.getByTestId('status-message').waitFor();
    expect(psql('SELECT note FROM e2e_commit')).toBe('committed from the UI');
  });

  it('protects the clone, explains the refused destroy, removes protection and destroys', async () => {
    await page.getByLabel('Protect from deletion').check();
    await page.getByLabel('Protection duration').selectOption('60');
    await page.getByRole('button', { name: 'Save protection' }).click();
    await expect.poll(() => page.getByTestId('protection-state').textContent()).toMatch(/^Protected until/);

    await page.getByRole('button', { name: 'Destroy…' }).click();
    const dialog = page.getByRole('dialog', { name: `Destroy clone ${CLONE}?` });
    await dialog.getByText('This clone is protected').waitFor();
    await dialog.getByRole('button', { name: 'Remove protection' }).click();
    await dialog.getByRole('button', { name: 'Destroy clone' }).click();
    await page.getByText(`Clone ${CLONE} has been destroyed.`).waitFor({ timeout: 60_000 });
    expect(await cloneStatus()).toBe('GONE');
    expect(() => psql('SELECT 1')).toThrow();
  });

  it('streams the engine log on the Logs page without the token or the password', async () => {
    await page.goto(`${engine!.url}/#/`);
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.getByRole('heading', { name: 'Engine log' }).waitFor();
    const log = page.getByRole('log', { name: 'Engine log lines' });
    // The backlog holds this test's clone's life; a clone created now shows up live.
    await expect.poll(() => log.textContent(), { timeout: 20_000 }).toContain(`clone ${CLONE}: destroyed`);
    await page.getByText('Live', { exact: true }).waitFor();
    const created = await fetch(`${engine!.url}/api/clone`, {
      method: 'POST',
      headers: { 'Verification-Token': engine!.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 'e2e-logged', db: { username: USER, password } }),
    });
    expect(created.status).toBe(201);
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain('clone e2e-logged: creating');
    const text = (await log.textContent()) ?? '';
    expect(text).not.toContain(engine!.token);
    expect(text).not.toContain(password);
    await waitFor('the logged clone to be ready', 60_000, async () =>
      (await api<{ status?: { code: string } }>('/clone/e2e-logged')).body.status?.code === 'OK' ? true : undefined,
    );
    await fetch(`${engine!.url}/api/clone/e2e-logged`, { method: 'DELETE', headers: { 'Verification-Token': engine!.token } });
    await waitFor('the logged clone to go', 60_000, async () => ((await api('/clone/e2e-logged')).status === 404 ? true : undefined));
  });

  it('returns to the login with a message when the token is no longer valid', async () => {
    await page.evaluate(() => sessionStorage.setItem('dblab.verificationToken', 'expired-token'));
    await page.goto(`${engine!.url}/#/`);
    await page.reload();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/token was refused by the engine/);
    await page.getByLabel('Verification token').waitFor();
  });
});
