// End to end, the route users have: the official Lean 4 extension (leanprover.lean4) and ours in
// code-server, DEFAULT settings (nothing of ours configured). Our extension finds the Python that
// has lean-sidecar (through the `lean-sidecar` script on PATH), writes its `lake` shim and offers to
// route Lean's server through it; we accept, set the endpoint key with the command, open a file
// with a sorry. Lean's server (the stand-in, behind the shim and the sidecar) gives diagnostics
// and the infoview's goal; the status bar goes from "starting" to the endpoint's state without a
// warning; a search that ends without a proof shows as a notification with a Cancel button, then
// one message saying why; the light bulb offers "Fill sorry", we apply it and save; "Run doctor"
// checks the real lake behind the shim; the sidecar's log has no warning for what the Lean
// extension sends Lean.
//
// Environment: CODE_SERVER, VSIX, LEAN4_VSIX, PROJECT (Lake project with Fill.lean), WORK, SHOTS,
// CHROMIUM, API_KEY; code-server inherits PATH (stand-in lake/lean, then the lean-sidecar script).
const fs = require("fs");
const path = require("path");
const { Workbench, until, log, DEADLINE } = require("./workbench");

const env = process.env;

/** Text of the Lean infoview (a webview: nested iframes), or "" when it is not there yet. */
async function infoviewText(page) {
  for (const frame of page.frames()) {
    try {
      const t = await frame.evaluate(() => (document.body ? document.body.innerText : ""));
      if (t.includes("All Messages") || t.includes("Tactic state") || t.includes("⊢")) {
        return t;
      }
    } catch { /* frame went away */ }
  }
  return "";
}

/** The ps line of every process whose command line contains `needle`. */
function processes(needle) {
  const out = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(needle)) out.push({ pid, cmd, env: fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0") });
    } catch { /* gone or not ours */ }
  }
  return out;
}

async function main() {
  const shots = env.SHOTS;
  const wb = new Workbench({ codeServer: env.CODE_SERVER, work: env.WORK, vsixes: [env.TOML_VSIX, env.LEAN4_VSIX, env.VSIX],
    settings: {}, env: process.env, folder: env.PROJECT, chromium: env.CHROMIUM });
  let ok = false;
  const t0 = Date.now();
  try {
    await wb.start();
    const page = wb.page;
    // No elan here (the stand-in toolchain is plain `lean`/`lake` on PATH): the Lean extension
    // asks once; a user without elan proceeds the same way.
    wb.answerDialogs({ "Elan is not installed": "Proceed Regardless" });
    // Our extension activates on the Lake project and offers the shim route.
    await wb.notification("route Lean's server through the sidecar", "Route it");
    log("shim route accepted");
    // Lean's server (and the sidecar behind the shim) starts with the first Lean file: until then
    // the endpoint check finds no server command, which is "starting", not a warning.
    const early = await until("the endpoint check's first answer", async () => {
      const t = await wb.statusText();
      return t && t !== "lean-sidecar" ? t : undefined;
    }, 30_000);
    log(`status bar before a Lean file is open: ${early}`);
    if (early.startsWith("[warning]")) throw new Error(`status bar: ${early}`);
    await wb.command("lean-sidecar: Set endpoint API key");
    const box = await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input[type='password']");
    await box.fill(env.API_KEY);
    await page.keyboard.press("Enter");
    await wb.notification("API key stored");
    log("API key set");

    await wb.open("Fill.lean");
    // Diagnostics from Lean (through the sidecar): the sorry warning is squiggled.
    await page.waitForSelector(".monaco-editor .squiggly-warning, .monaco-editor .squiggly-info", { timeout: DEADLINE });
    log("diagnostics shown");
    const sidecars = await until("the sidecar behind the shim", () => {
      const p = processes("serve --upstream").filter((q) => q.cmd.includes("lean_sidecar"));
      return p.length ? p : undefined;
    });
    for (const p of sidecars) {
      if (p.cmd.includes(env.API_KEY)) throw new Error("API key on a command line");
    }
    if (!sidecars.some((p) => p.env.includes(`LEAN_SIDECAR_API_KEY=${env.API_KEY}`))) {
      throw new Error("the sidecar did not get the API key in its environment");
    }
    log(`sidecar ${sidecars.map((p) => p.pid).join(",")} has the key in its environment`);
    // The key reached it over the extension's socket: no file of ours holds it (the shim names
    // only the socket's path), and no key file of an earlier version is left.
    const stored = [];
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.isFile() && full.includes("lean-sidecar")) stored.push(full);
      }
    };
    walk(env.WORK);
    const shimFile = stored.find((f) => f.endsWith(path.join("bin", "lake")));
    if (!shimFile || !/key_socket = "\/[^"]+"/.test(fs.readFileSync(shimFile, "utf8"))) {
      throw new Error(`no shim naming the key socket among ${stored.join(", ")}`);
    }
    for (const f of stored) {
      if (f.endsWith("endpoint-key") || fs.readFileSync(f, "utf8").includes(env.API_KEY)) {
        throw new Error(`the API key is in a file: ${f}`);
      }
    }
    log(`no file of ours holds the key (${stored.length} checked; shim ${shimFile})`);
    // The sidecar has started behind the shim: the endpoint check, retried every few seconds while
    // the server's command was not registered ("starting", never a warning), reaches it.
    const seen = new Set();
    const status = await until("the endpoint's state in the status bar", async () => {
      const t = await wb.statusText();
      seen.add(t);
      return t.includes("tactics only") ? t : undefined;
    }, 75_000);
    log(`status bar: ${[...seen].join(" -> ")}`);
    if ([...seen].some((t) => t.startsWith("[warning]"))) throw new Error(`a warning while starting: ${[...seen]}`);

    await wb.searchWithoutProof(7, 3, path.join(shots, "vscode-shim-search-notification.png"),
      path.join(shots, "vscode-shim-no-proof.png"));
    const filled = await wb.fillFromLightBulb(4, 3, path.join(shots, "vscode-quickfix-menu.png"));
    await until("the proof in the editor", async () => (await wb.editorLines()).some((l) => l.trim() === "omega"));
    await page.keyboard.press("Control+S");
    const file = path.join(env.PROJECT, "Fill.lean");
    const text = await until("the proof saved", () => {
      const t = fs.readFileSync(file, "utf8");
      return t.split("\n")[3] === "  omega" ? t : undefined;
    });
    // The infoview follows the cursor to the sorry that is left: its goal, from Lean's RPC.
    await wb.clickText(7, "sorry");
    const goal = await until("the infoview's goal", async () => {
      const t = await infoviewText(page);
      return t.includes("⊢") && t.includes("x / x = 1") ? t : undefined;
    });
    log(`infoview: ${goal.replace(/\s+/g, " ").slice(0, 200)}`);
    await wb.shot(path.join(shots, "vscode-infoview.png"));
    // "Show log": in this route the sidecar logs to a file (the Lean extension shows stderr as
    // errors); the command opens it beside the output channel.
    await wb.command("lean-sidecar: Show log");
    await page.waitForSelector('.tab[aria-label*="sidecar.log"]', { timeout: DEADLINE });
    log("Show log opened sidecar.log");
    const sidecarLog = fs.readFileSync(path.join(path.dirname(path.dirname(shimFile)), "sidecar.log"), "utf8");
    const noise = sidecarLog.split("\n").filter((l) => l.includes("WARNING")
      && /hasWidgets|editDelay|didSave|unknown method/.test(l));
    if (noise.length) throw new Error(`warnings for what the Lean extension sends Lean:\n${noise.join("\n")}`);
    log("sidecar.log: no warning for hasWidgets, editDelay or didSave");

    const doctor = await wb.runDoctor();
    await wb.shot(path.join(shots, "vscode-shim-doctor.png"));
    if (doctor.includes("no real lake") || !doctor.includes("proof search can work here")) {
      throw new Error(`Run doctor in the shim route:\n${doctor}`);
    }
    log(`doctor: proof search can work; ${doctor.split("\n").find((l) => /^OK +editor/.test(l.trim())) ?? "no editor line"}`);

    console.log("file after fill:\n" + text);
    ok = filled && text.split("\n")[6] === "  sorry";
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error("e2e failed:", err);
    try { await wb.shot(path.join(shots, "vscode-shim-failure.png")); } catch { /* no page */ }
    try { console.error("infoview:\n" + await infoviewText(wb.page)); } catch { /* no page */ }
    console.error(wb.serverLog.slice(-3000));
    console.error(wb.logs());
  } finally {
    await wb.close();
  }
  console.log(ok ? "E2E OK" : "E2E FAILED");
  process.exit(ok ? 0 : 1);
}

main();
