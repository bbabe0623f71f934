#!/bin/sh
# Installs code-server (VS Code in a browser, with a real Node extension host) offline-friendly, for the
# end-to-end test. Its npm postinstall fetches ripgrep from GitHub, which is unreachable here, so we install with
# --ignore-scripts, rebuild the native modules with node-gyp, and use Debian's rg.
# Recipe and measurements: ../shared/docs/TESTING.md §1. Needs apt: libkrb5-dev ripgrep (and chromium for the test).
# Usage: test/e2e/install-code-server.sh DIR   (idempotent: does nothing when DIR already holds that version)
set -eu
D=${1:?target dir}; V=${CODE_SERVER_VERSION:-4.100.3}
if [ -f "$D/node_modules/code-server/package.json" ] && [ "$(node -p "require('$D/node_modules/code-server/package.json').version")" = "$V" ] \
   && [ -f "$D/node_modules/code-server/lib/vscode/node_modules.asar/.rtune-ready" ]; then
  echo "code-server $V already installed in $D"; exit 0
fi
mkdir -p "$D" && cd "$D" && { [ -f package.json ] || echo '{"private":true}' > package.json; }
npm install --no-audit --no-fund --ignore-scripts "code-server@$V"
npm rebuild argon2 >/dev/null 2>&1 || true
cd node_modules/code-server/lib/vscode
npm install --no-audit --no-fund --omit=dev --ignore-scripts
NATIVE=$(node -e '
const fs=require("fs"),p=require("path");const out=[];
const dirs=fs.readdirSync("node_modules").flatMap(d=>d.startsWith("@")?fs.readdirSync(p.join("node_modules",d)).map(x=>d+"/"+x):[d]);
for(const d of dirs){const f=p.join("node_modules",d);let j;try{j=JSON.parse(fs.readFileSync(p.join(f,"package.json")))}catch{continue}
 const s=j.scripts||{};if((s.install||s.preinstall||s.postinstall||fs.existsSync(p.join(f,"binding.gyp")))&&!/windows|ripgrep/.test(d))out.push(d)}
console.log(out.join(" "))')
npm_config_yes=true npm rebuild --no-audit $NATIVE >/dev/null
if [ -d node_modules/@vscode/ripgrep ] && [ ! -e node_modules/@vscode/ripgrep/bin/rg ]; then
  mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
fi
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server); (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --no-audit --no-fund --omit=dev >/dev/null)
touch node_modules/.rtune-ready
echo "code-server $V (VS Code $(node -p 'require("./product.json").version')) installed in $D"
