#!/usr/bin/env node
// The `rtune` command: a thin launcher for the bundled CLI (`npm run build` produces dist/cli.js).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write(`rtune: ${bundle} is missing; run \`npm run build\` first.\n`);
  process.exit(2);
}
require(bundle).main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write(`rtune: ${err && err.stack ? err.stack : err}\n`); process.exit(1); },
);
