import { processIo } from './io.js';
import { runCli } from './program.js';

// Ctrl-C asks long-running commands to stop cleanly (print their summary); a second one kills.
const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});

process.exitCode = await runCli(process.argv.slice(2), processIo(interrupt.signal));
