import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount, uniqueName } from '../support/api.js';
import { type CliOptions, flashline, flashlineJson } from '../support/cli.js';

/** People through the CLI on the deployed stack (its user pool on the emulator): invite, change, remove. */
describe('the flashline CLI invites people, changes their role and factories, and removes them', () => {
  let dir: string;
  const cli: CliOptions = { cwd: '' };
  const as = (credentials: string, ...args: string[]) => [...args, '--credentials', credentials];
  const email = `${uniqueName('ana').toLowerCase().replace(/[^a-z0-9-]/g, '')}@example.com`;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-cli-people-'));
    cli.cwd = dir;
    writeFileSync(path.join(dir, 'admin.json'), JSON.stringify(await createAccount(uniqueName('CLI people'))), { mode: 0o600 });
    await flashlineJson(as('admin.json', 'factories', 'create', 'Line East'), cli);
  });

  it('invites an operator of one factory by name; the local stack shows the temporary password', async () => {
    const invited = await flashline(as('admin.json', 'people', 'invite', email, '--role', 'operator', '--factory', 'Line East'), cli);
    expect(invited.code, invited.stderr).toBe(0);
    expect(invited.stdout).toMatch(/Role: +operator/);
    expect(invited.stdout).toMatch(/Factories: +Line East/);
    expect(invited.stdout).toMatch(/Temporary password: \S{8,}/);
    const again = await flashline(as('admin.json', 'people', 'invite', email, '--role', 'viewer'), cli);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[person_exists 409\]/);
  });

  it('changes the role to every factory, disables, lists and removes the person found by email', async () => {
    const changed = await flashlineJson(as('admin.json', 'people', 'update', email.toUpperCase(), '--role', 'viewer', '--all-factories', '--disable'), cli);
    expect(changed.person).toMatchObject({ email, role: 'viewer', status: 'disabled' });
    expect(changed.person.factoryIds).toBeUndefined();
    const listed = await flashline(as('admin.json', 'people', 'ls'), cli);
    expect(listed.stdout).toMatch(new RegExp(`${email.replace(/\./g, '\\.')} +viewer +all +disabled`));
    const removed = await flashline(as('admin.json', 'people', 'rm', email, '--yes'), cli);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await flashlineJson(as('admin.json', 'people', 'ls'), cli)).items).toEqual([]);
  });
});
