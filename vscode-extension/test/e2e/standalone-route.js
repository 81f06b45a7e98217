// End to end without the Lean extension: ours alone in code-server, DEFAULT settings. It activates
// on the Lake project, finds the Python that has lean-sidecar, and runs the sidecar as VS Code's
// language server for Lean files (the sidecar starts `lake serve` itself). Diagnostics appear; a
// search that ends without a proof shows as a notification with a Cancel button, then one message
// saying why; the light bulb offers "Fill sorry", we apply it and save; "Run doctor" says proof
// search can work.
//
// Environment: CODE_SERVER, VSIX, PROJECT (Lake project with Fill.lean), WORK, SHOTS, CHROMIUM.
const fs = require("fs");
const path = require("path");
const { Workbench, until, log, DEADLINE } = require("./workbench");

const env = process.env;

async function main() {
  const wb = new Workbench({ codeServer: env.CODE_SERVER, work: env.WORK, vsixes: [env.VSIX],
    settings: {}, env: process.env, folder: env.PROJECT, chromium: env.CHROMIUM });
  let ok = false;
  const t0 = Date.now();
  try {
    await wb.start();
    const page = wb.page;
    await wb.open("Fill.lean");
    await page.waitForSelector(".monaco-editor .squiggly-warning, .monaco-editor .squiggly-info", { timeout: DEADLINE });
    log("diagnostics shown");
    await wb.searchWithoutProof(7, 3, path.join(env.SHOTS, "vscode-standalone-search-notification.png"),
      path.join(env.SHOTS, "vscode-standalone-no-proof.png"));
    await wb.fillFromLightBulb(4, 3, path.join(env.SHOTS, "vscode-standalone.png"));
    await until("the proof in the editor", async () => (await wb.editorLines()).some((l) => l.trim() === "omega"));
    await page.keyboard.press("Control+S");
    const text = await until("the proof saved", () => {
      const t = fs.readFileSync(path.join(env.PROJECT, "Fill.lean"), "utf8");
      return t.split("\n")[3] === "  omega" ? t : undefined;
    });
    console.log("file after fill:\n" + text);
    const doctor = await wb.runDoctor();
    await wb.shot(path.join(env.SHOTS, "vscode-standalone-doctor.png"));
    log(`doctor: ${doctor.split("\n").filter((l) => /^(OK|WARN|FAIL) /.test(l.trim())).map((l) => l.trim().slice(0, 60)).join(" / ")}`);
    if (!doctor.includes("proof search can work here") || !/OK +repl/.test(doctor)) {
      throw new Error(`Run doctor did not pass:\n${doctor}`);
    }
    log(`status bar: ${await wb.statusText()}`);
    // The sidecar's log (its stderr, in the "lean-sidecar" output channel): no warning for what
    // an ordinary session sends (the save above: didSave, which the sidecar only passes on).
    const warnings = wb.outputChannel("lean-sidecar").split("\n").filter((l) => / WARNING /.test(l));
    log(`sidecar log warnings: ${warnings.length ? warnings.join(" | ") : "none"}`);
    if (warnings.some((l) => /unknown (method|setting)/.test(l))) throw new Error(`log noise: ${warnings.join("\n")}`);
    ok = text.split("\n")[6] === "  sorry";
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error("e2e failed:", err);
    try { await wb.shot(path.join(env.SHOTS, "vscode-standalone-failure.png")); } catch { /* no page */ }
    console.error(wb.serverLog.slice(-3000));
    console.error(wb.logs());
  } finally {
    await wb.close();
  }
  console.log(ok ? "E2E OK" : "E2E FAILED");
  process.exit(ok ? 0 : 1);
}

main();
