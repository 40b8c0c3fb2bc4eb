#!/usr/bin/env node
// `npx teltec …`: builds when needed, then runs the CLI.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.mjs')], { stdio: 'inherit' });
const { cliMain } = await import(path.join(root, 'dist', 'src', 'cli.js'));
process.exit(await cliMain(process.argv.slice(2)));
