// End-to-end in a real VS Code workbench (code-server 4.100.3 = VS Code 1.100.3) driven by
// headless Chromium: install the built .vsix, open a Lean file with a sorry, run
// "lean-sidecar: Fill sorry at cursor" from the command palette, and check the proof in the
// editor and on disk. A screenshot is saved for CI.
//
// Environment: CODE_SERVER (entry.js), VSIX, STUB_VSIX, PYTHON, UPSTREAM_JSON (argv of the Lean
// server), PROJECT (a folder with Fill.lean), REPL_PATH, LAKE_PATH, WORK (scratch dir), SHOT.
const { chromium } = require("playwright-core");
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const net = require("net");

const env = process.env;
const work = env.WORK;
const ud = path.join(work, "ud"), ext = path.join(work, "ext");
const cs = ["node", env.CODE_SERVER];

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function main() {
  fs.mkdirSync(path.join(ud, "User"), { recursive: true });
  for (const vsix of [env.VSIX, env.STUB_VSIX]) {
    execFileSync(cs[0], [cs[1], "--user-data-dir", ud, "--extensions-dir", ext, "--install-extension", vsix],
      { stdio: "inherit" });
  }
  const upstream = JSON.parse(env.UPSTREAM_JSON);
  const quote = (a) => (/^[A-Za-z0-9_\-./:=@+,]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`);
  fs.writeFileSync(path.join(ud, "User", "settings.json"), JSON.stringify({
    // The sidecar's stderr (its log) goes to a file that the test prints on failure.
    "leanSidecar.serverCommand": ["sh", "-c", `exec ${quote(env.PYTHON)} -m lean_sidecar serve --upstream ${quote(upstream.map(quote).join(" "))} 2>>${quote(path.join(work, "sidecar.log"))}`],
    "leanSidecar.replPath": env.REPL_PATH,
    "leanSidecar.lakePath": env.LAKE_PATH,
    "leanSidecar.tactics": ["rfl", "omega"],
    "leanSidecar.cachePath": path.join(work, "cache.sqlite"),
    "workbench.startupEditor": "none",
    "security.workspace.trust.enabled": false,
    "extensions.autoCheckUpdates": false,
    "telemetry.telemetryLevel": "off",
  }, null, 1));
  const port = await freePort();
  const server = spawn(cs[0], [cs[1], "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--user-data-dir", ud,
    "--extensions-dir", ext, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust"],
    { stdio: ["ignore", "pipe", "pipe"] });
  let serverLog = "";
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  const browser = await chromium.launch({ executablePath: env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"] });
  let ok = false;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    for (let i = 0; i < 100; i++) {  // wait for code-server to listen
      try { await page.goto(`http://127.0.0.1:${port}/?folder=${env.PROJECT}`); break; }
      catch { await page.waitForTimeout(200); }
    }
    await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
    await page.waitForTimeout(3000);
    await page.keyboard.press("Control+P");
    await page.keyboard.type("Fill.lean");
    await page.waitForTimeout(1000);
    await page.keyboard.press("Enter");
    await page.waitForSelector(".monaco-editor .view-lines", { timeout: 30000 });
    await page.waitForTimeout(4000);  // the extension activates, the sidecar and Lean start
    await page.keyboard.press("Control+G");
    await page.keyboard.type("4:3");
    await page.keyboard.press("Enter");
    await page.waitForTimeout(500);
    await page.keyboard.press("Control+Shift+P");
    await page.keyboard.type("lean-sidecar: Fill sorry at cursor");
    await page.waitForTimeout(800);
    await page.keyboard.press("Enter");
    // The proof appears in the editor (the sorry on line 4 is replaced).
    await page.waitForFunction(() => {
      const lines = [...document.querySelectorAll(".monaco-editor .view-line")].map((l) => l.textContent);
      return lines.some((l) => l.replace(/\u00a0/g, " ").trim() === "omega");
    }, null, { timeout: 60000 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: env.SHOT });
    await page.keyboard.press("Control+S");
    await page.waitForTimeout(1500);
    const text = fs.readFileSync(path.join(env.PROJECT, "Fill.lean"), "utf8");
    console.log("file after fill:\n" + text);
    ok = text.split("\n")[3] === "  omega" && text.split("\n")[6] === "  sorry";
  } catch (err) {
    console.error("e2e failed:", err);
    try { await page.screenshot({ path: env.SHOT }); } catch {}
    console.error(serverLog.slice(-3000));
    try { console.error("sidecar log:\n" + fs.readFileSync(path.join(work, "sidecar.log"), "utf8").slice(-4000)); } catch {}
  } finally {
    await browser.close();
    server.kill();
  }
  console.log(ok ? "E2E OK" : "E2E FAILED");
  process.exit(ok ? 0 : 1);
}

main();
