#!/usr/bin/env node
// The `flashline` command: runs the TypeScript CLI through tsx, so the repo needs no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../main.ts', import.meta.url).href);
