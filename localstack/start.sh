#!/usr/bin/env bash
# Runs only the emulator in the foreground (npm start runs it and deploys the stack too).
set -euo pipefail
cd "$(dirname "$0")"
exec npx tsx -e "
import('./ministack.ts').then(async (m) => {
  m.ensureVirtualenv();
  if (await m.isEmulatorUp()) { console.log('Emulator already answers at ' + m.EMULATOR_ENDPOINT); return; }
  await m.startEmulator({ persist: true });
  console.log('Emulator up at ' + m.EMULATOR_ENDPOINT + ' (Ctrl-C stops it)');
  const stop = () => { m.stopEmulator(); process.exit(0); };
  process.on('SIGINT', stop); process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
});
"
