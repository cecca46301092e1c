/** The console of `npm start`. */
export const LOCAL_CONSOLE_PORT = 4580;
/**
 * The consoles the browser tests serve: several engineers (or CI next to a developer) may run
 * them at once on one machine, so each test file takes the first free port of the range.
 */
export const BROWSER_TEST_CONSOLE_PORTS = [4581, 4582, 4583, 4584, 4585] as const;

/** The browser origins the local stack's CORS allows (API and images bucket). */
export const LOCAL_CONSOLE_ORIGINS = [
  `http://127.0.0.1:${LOCAL_CONSOLE_PORT}`,
  `http://localhost:${LOCAL_CONSOLE_PORT}`,
  ...BROWSER_TEST_CONSOLE_PORTS.map((port) => `http://127.0.0.1:${port}`),
];
