import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const HTTP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../shared/http');
const LONGEST_LINES = 40;

interface FunctionSpan {
  where: string;
  lines: number;
}

/** Every function of a module (declarations, methods, accessors, arrows, expressions), with the lines it spans. */
function functionSpans(file: string, text = readFileSync(file, 'utf8')): FunctionSpan[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const spans: FunctionSpan[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = node.name ?? (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) ? node.parent.name : undefined);
      const name = named && ts.isIdentifier(named) ? named.text : '(anonymous)';
      spans.push({ where: `${path.basename(file)}:${first + 1} ${name}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

/**
 * Issue 10's acceptance, kept true: the middy chain both API functions run (shared/http) is
 * small middlewares, none of them, nor any helper, over 40 lines, comments included.
 */
describe('the handler chain', () => {
  const modules = readdirSync(HTTP_DIR).filter((name) => name.endsWith('.ts')).map((name) => path.join(HTTP_DIR, name));

  it('is read from the modules of shared/http, and finds their functions', () => {
    expect(modules.map((file) => path.basename(file))).toEqual(expect.arrayContaining(['handler.ts', 'middlewares.ts', 'routing.ts', 'error-mapping.ts']));
    expect(functionSpans(path.join(HTTP_DIR, 'middlewares.ts')).length).toBeGreaterThan(10);
  });

  it(`has no function over ${LONGEST_LINES} lines`, () => {
    const spans = modules.flatMap((file) => functionSpans(file));
    expect(spans.filter((span) => span.lines > LONGEST_LINES)).toEqual([]);
  });

  it('counts a function from its first line to its closing brace, nested ones too: the check itself can fail', () => {
    const body = (lines: number) => Array.from({ length: lines - 2 }, (_, i) => `  step(${i});`).join('\n');
    const text = `export function fits() {\n${body(40)}\n}\nexport const chain = () => ({\n  after: async () => {\n${body(41)}\n  },\n});\n`;
    expect(functionSpans('probe.ts', text).map((span) => [span.where, span.lines])).toEqual([
      ['probe.ts:1 fits', 40],
      ['probe.ts:41 chain', 43],
      ['probe.ts:42 after', 41],
    ]);
  });
});
