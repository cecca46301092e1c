import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|md)$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

/** Every `flashline COMMAND [SUBCOMMAND]` that the console, the README and the docs tell people to run. */
function namedCommands(): { file: string; words: [string, string | undefined] }[] {
  const found: { file: string; words: [string, string | undefined] }[] = [];
  for (const file of ['README.md', ...filesUnder('docs'), ...filesUnder('console/src')]) {
    for (const match of readFileSync(path.join(ROOT, file), 'utf8').matchAll(/\bflashline ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)) {
      found.push({ file, words: [match[1]!, match[2]] });
    }
  }
  return found;
}

describe('the commands the console and the docs name exist in the CLI', () => {
  it('finds each one, with its subcommand where the command has subcommands', () => {
    const program = buildProgram({ stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: ROOT, homeDir: ROOT, fetch }, { exitCode: 0 });
    const named = namedCommands();
    expect(named.length).toBeGreaterThan(10);
    const missing = named.filter(({ words: [group, sub] }) => {
      const command = program.commands.find((c) => c.name() === group);
      if (!command) return true;
      return command.commands.length > 0 && !command.commands.some((c) => c.name() === sub);
    });
    expect(missing.map(({ file, words }) => `${file}: flashline ${words.join(' ').trim()}`)).toEqual([]);
  });
});
