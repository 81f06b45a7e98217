// End to end without the Lean extension: ours alone in code-server, DEFAULT settings. It activates
// on the Lake project, finds the Python that has lean-sidecar, and runs the sidecar as VS Code's
// language server for Lean files (the sidecar starts `lake serve` itself). Diagnostics appear, the
// light bulb offers "Fill sorry", we apply it and save.
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
    await wb.fillFromLightBulb(4, 3, path.join(env.SHOTS, "vscode-standalone.png"));
    await until("the proof in the editor", async () => (await wb.editorLines()).some((l) => l.trim() === "omega"));
    await page.keyboard.press("Control+S");
    const text = await until("the proof saved", () => {
      const t = fs.readFileSync(path.join(env.PROJECT, "Fill.lean"), "utf8");
      return t.split("\n")[3] === "  omega" ? t : undefined;
    });
    console.log("file after fill:\n" + text);
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
