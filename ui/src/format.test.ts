import { describe, expect, it } from 'vitest';
import { cliCreateCommand, compactToIso, formatBytes, formatSeconds, generatePassword, jdbcUrl, psqlCommand, validateBranchName, validateCloneId } from './format';
import { href, parseHash } from './router';
import { pollInterval, statusInfo } from './status';
import { makeClone } from './test/fakeApi';

describe('status handling', () => {
  it('marks CREATING, RESETTING and DELETING as transient and polls them fast', () => {
    for (const code of ['CREATING', 'RESETTING', 'DELETING']) {
      expect(statusInfo(code)).toMatchObject({ transient: true, tone: 'busy', usable: false });
      expect(pollInterval(code)).toBeLessThan(1000);
    }
  });
  it('OK is usable, FATAL is bad, unknown codes are shown as they are', () => {
    expect(statusInfo('OK')).toMatchObject({ usable: true, transient: false, tone: 'ok' });
    expect(statusInfo('FATAL')).toMatchObject({ label: 'Failed', tone: 'bad', usable: false });
    expect(statusInfo('WARNING').tone).toBe('warn');
    expect(statusInfo('SOMETHING')).toMatchObject({ label: 'SOMETHING', tone: 'neutral' });
    expect(pollInterval('OK')).toBeGreaterThanOrEqual(1000);
  });
});

describe('format', () => {
  it('formats sizes and times', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(80935163)).toBe('77.2 MiB');
    expect(formatBytes(21474836480)).toBe('20.0 GiB');
    expect(formatSeconds(0.404)).toBe('404 ms');
    expect(formatSeconds(2.5)).toBe('2.50 s');
    expect(formatSeconds(0)).toBe('—');
  });

  it('builds psql and JDBC strings', () => {
    const clone = makeClone();
    expect(psqlCommand(clone)).toBe('psql "host=127.0.0.1 port=6000 user=jworks dbname=demo"');
    expect(jdbcUrl(clone)).toBe('jdbc:postgresql://127.0.0.1:6000/demo?user=jworks');
  });

  it('builds the equivalent dblab command without printing the password', () => {
    const command = cliCreateCommand({
      id: 'c1',
      snapshot: { id: 'pool@snap' },
      protected: true,
      protectionDurationMinutes: 60,
      db: { username: 'neal', password: "it's secret", db_name: 'demo', restricted: true },
    });
    expect(command).toBe("dblab clone create --id c1 --username neal --password '********' --snapshot-id pool@snap --db-name demo --restricted --protected 60");
    expect(cliCreateCommand({ db: { username: '', password: '' } })).toBe('dblab clone create --username <username> --password <password>');
    expect(cliCreateCommand({ protected: true, db: { username: 'u', password: "it's" } }, true)).toBe("dblab clone create --username u --password 'it'\\''s' --protected true");
  });

  it('validates clone ids like the engine', () => {
    expect(validateCloneId('')).toBeNull();
    expect(validateCloneId('my-clone_1.a')).toBeNull();
    expect(validateCloneId('-bad')).toMatch(/Start with/);
    expect(validateCloneId('a b')).toMatch(/Start with/);
    expect(validateCloneId('a'.repeat(65))).toMatch(/64/);
  });

  it('generates strong, varied passwords', () => {
    const a = generatePassword();
    const b = generatePassword();
    expect(a).toHaveLength(20);
    expect(a).not.toBe(b);
    expect(a).toMatch(/[0-9]/);
    expect(a).toMatch(/[a-z]/);
    expect(a).toMatch(/[A-Z]/);
  });
});

describe('branches', () => {
  it("reads DLE's compact data state time", () => {
    expect(compactToIso('20261201063000')).toBe('2026-12-01T06:30:00Z');
    expect(compactToIso('')).toBeNull();
    expect(compactToIso('2026-12-01')).toBeNull();
  });

  it('checks branch names as the engine does, in any script', () => {
    for (const good of ['main', 'feature-x', '_x', 'функция-1', '機能_ブランチ', 'é']) expect(validateBranchName(good)).toBeNull();
    for (const bad of ['', 'a b', 'a/b', 'a\\b', 'x.y', '-x', 'snapshot', 'a\u202eb', 'a\u0007', 'x'.repeat(65)]) {
      expect(validateBranchName(bad)).not.toBeNull();
    }
    expect(validateBranchName('ж'.repeat(64))).toBeNull();
  });

  it('routes to the branch list, a branch and a clone on a branch', () => {
    expect(parseHash('#/branches')).toEqual({ name: 'branches' });
    expect(parseHash(href({ name: 'branch', id: 'функция/1' }))).toEqual({ name: 'branch', id: 'функция/1' });
    expect(parseHash(href({ name: 'create', branch: 'dev', snapshot: 'p@1' }))).toEqual({ name: 'create', branch: 'dev', snapshot: 'p@1' });
    expect(cliCreateCommand({ branch: 'dev', db: { username: 'u', password: '' } })).toContain('--branch dev');
  });
});
