/**
 * Entry point of the rtune language server (bundled to dist/server.js by scripts/build.mjs): creates the LSP
 * connection from the process arguments (`--stdio`, `--node-ipc` or `--socket=N`), finds the extension root
 * (so `builtin:demo` resolves to `<root>/examples/demo-model`) and starts the server. The only file that touches
 * `process`. Non-goals: everything else (server.ts routes, handlers/ adapt, language/ thinks).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { startServer } from './server';

/** The nearest folder above this file holding rtune's package.json (dist/ → root; out/server/ → root). */
function findExtensionRoot(start: string): string | undefined {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'rtune') return dir;
    } catch {
      // not here; keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

const connection = createConnection(ProposedFeatures.all);
process.on('uncaughtException', (e) => connection.console.error(`uncaught: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
startServer(connection, { extensionRoot: findExtensionRoot(__dirname) });
