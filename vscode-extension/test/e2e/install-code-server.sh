#!/bin/sh
# Install code-server 4.100.3 (VS Code 1.100.3) from npm without any download beyond the npm
# registry (shared/reference/editors-and-testing.md §3.2). Needs: node 20, ripgrep, libkrb5-dev.
set -eu
DEST=${1:-.cache/code-server}
if [ -x "$DEST/package/out/node/entry.js" ] || [ -f "$DEST/package/out/node/entry.js" ]; then exit 0; fi
mkdir -p "$DEST" && cd "$DEST"
npm pack code-server@4.100.3 >/dev/null
tar xzf code-server-4.100.3.tgz && rm code-server-4.100.3.tgz
cd package
npm install --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null
npm rebuild argon2 --build-from-source >/dev/null 2>&1 || true
cd lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null
mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild @parcel/watcher @vscode/spdlog @vscode/deviceid kerberos native-watchdog >/dev/null 2>&1 || true
(cd node_modules/node-pty && npx --yes node-gyp rebuild >/dev/null 2>&1) || true
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
