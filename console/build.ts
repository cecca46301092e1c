import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Builds the static console into one folder: index.html, and content-hashed assets under
 * assets/ that a CDN may cache forever. config.json is not part of the build: the local
 * server and the CDK deployment each write their own.
 */
const CONSOLE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = path.join(CONSOLE_DIR, 'dist');

export async function buildConsole(options: { outDir?: string; minify?: boolean } = {}): Promise<{ outDir: string; files: string[] }> {
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  rmSync(path.join(outDir, 'assets'), { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(CONSOLE_DIR, 'src', 'main.ts'), styles: path.join(CONSOLE_DIR, 'src', 'styles.css') },
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(outDir, path.resolve(file)).split(path.sep).join('/'));
  const script = outputs.find((file) => /^assets\/app-.*\.js$/.test(file));
  const styles = outputs.find((file) => /^assets\/styles-.*\.css$/.test(file));
  if (!script || !styles) throw new Error(`console build produced no app script or stylesheet: ${outputs.join(', ')}`);
  const template = readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8');
  writeFileSync(path.join(outDir, 'index.html'), template.replace('%SCRIPT%', script).replace('%STYLES%', styles));
  return { outDir, files: ['index.html', ...outputs] };
}

// `tsx console/build.ts [--out DIR]`: also the CDK asset bundling command.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFlag = process.argv.indexOf('--out');
  const outDir = outFlag > 0 ? process.argv[outFlag + 1] : undefined;
  buildConsole({ outDir })
    .then(({ outDir: written, files }) => {
      const shipped = files.filter((file) => !file.endsWith('.map'));
      const sized = shipped.map((file) => `${file} (${(statSync(path.join(written, file)).size / 1000).toFixed(1)} kB)`);
      console.log(`Built the console into ${written}: ${sized.join(', ')}`);
    })
    .catch((error: Error) => {
      console.error(`console build failed: ${error.message}`);
      process.exit(1);
    });
}
