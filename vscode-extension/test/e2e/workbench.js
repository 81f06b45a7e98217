// A real VS Code workbench for end-to-end tests: code-server (VS Code in the browser) driven by
// headless Chromium through playwright-core. Every wait is on something the page shows (or a
// file on disk), with a generous deadline: no fixed sleeps, so it holds on a busy 2-core machine.
const { chromium } = require("playwright-core");
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");

// One deadline for "the machine is slow but working": a step that needs longer is broken.
const DEADLINE = Number(process.env.E2E_DEADLINE_MS || 240_000);

function log(msg) {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Poll `check` (sync or async) until it returns a truthy value or the deadline passes. */
async function until(what, check, deadline = DEADLINE, everyMs = 250) {
  const end = Date.now() + deadline;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${deadline} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

class Workbench {
  constructor(opts) {
    this.opts = opts;  // { codeServer, work, vsixes, settings, env, folder, chromium }
    this.ud = path.join(opts.work, "ud");
    this.ext = path.join(opts.work, "ext");
    this.serverLog = "";
  }

  async start() {
    const { codeServer, vsixes, settings, env, folder } = this.opts;
    fs.mkdirSync(path.join(this.ud, "User"), { recursive: true });
    for (const vsix of vsixes) {
      log(`install ${path.basename(vsix)}`);
      execFileSync("node", [codeServer, "--user-data-dir", this.ud, "--extensions-dir", this.ext,
        "--install-extension", vsix], { stdio: "inherit", env });
    }
    fs.writeFileSync(path.join(this.ud, "User", "settings.json"), JSON.stringify({
      "workbench.startupEditor": "none",
      "security.workspace.trust.enabled": false,
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "telemetry.telemetryLevel": "off",
      "workbench.tips.enabled": false,
      ...settings,
    }, null, 1));
    const port = await freePort();
    this.server = spawn("node", [codeServer, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`,
      "--user-data-dir", this.ud, "--extensions-dir", this.ext, "--disable-telemetry",
      "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override"],
      { stdio: ["ignore", "pipe", "pipe"], env, detached: true });
    this.server.stdout.on("data", (d) => (this.serverLog += d));
    this.server.stderr.on("data", (d) => (this.serverLog += d));
    await until("code-server to listen", () => new Promise((resolve) => {
      const sock = net.connect(port, "127.0.0.1", () => { sock.end(); resolve(true); });
      sock.on("error", () => resolve(false));
    }));
    this.browser = await chromium.launch({ executablePath: this.opts.chromium || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"] });
    this.page = await this.browser.newPage({ viewport: { width: 1400, height: 860 } });
    this.page.setDefaultTimeout(DEADLINE);
    await this.page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`, { timeout: DEADLINE });
    await this.page.waitForSelector(".monaco-workbench .part.statusbar", { timeout: DEADLINE });
    log("workbench up");
  }

  /** Run a command from the palette once its entry is listed. */
  async command(title) {
    const page = this.page;
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+Shift+P");
    const input = await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", { timeout: DEADLINE });
    await input.fill(">" + title);
    await until(`palette entry "${title}"`, () => page.evaluate((t) =>
      [...document.querySelectorAll(".quick-input-list .monaco-list-row.focused .label-name")]
        .some((e) => e.textContent.replace(/\u00a0/g, " ").trim() === t), title));
    await page.keyboard.press("Enter");
  }

  /** Open a workspace file with Quick Open and wait for its editor tab. */
  async open(name) {
    const page = this.page;
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+P");
    const input = await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", { timeout: DEADLINE });
    await input.fill(name);
    await until(`quick-open entry ${name}`, () => page.evaluate((n) =>
      [...document.querySelectorAll(".quick-input-list .monaco-list-row.focused .label-name")]
        .some((e) => e.textContent.trim() === n), name));
    await page.keyboard.press("Enter");
    await page.waitForSelector(`.tab.active[aria-label*="${name}"]`, { timeout: DEADLINE });
    await page.waitForSelector(".monaco-editor .view-lines .view-line", { timeout: DEADLINE });
  }

  /** Put the cursor at line:column (1-based) and wait until the status bar says so. */
  async goTo(line, column) {
    const page = this.page;
    const at = () => page.evaluate((want) =>
      [...document.querySelectorAll(".statusbar-item")].some((e) => (e.textContent || "").includes(want)),
      `Ln ${line}, Col ${column}`);
    // A key pressed while the closing quick input still holds the focus is lost (seen on an idle
    // machine: the cursor one column short), so the whole move is tried again, not waited for.
    await until(`cursor at ${line}:${column}`, async () => {
      await page.click(".monaco-editor .view-lines");
      await page.keyboard.press("Control+G");
      const input = await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", { timeout: DEADLINE });
      await input.fill(`:${line}:${column}`);
      await page.keyboard.press("Enter");
      await until("the quick input to close", () => page.evaluate(() =>
        !document.querySelector(".quick-input-widget:not([style*='display: none'])")));
      // Move the cursor with the keyboard in the focused editor, as a user would: extensions that
      // follow the cursor (the infoview) see ordinary selection changes.
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowLeft");
      return until(`the status bar to show ${line}:${column}`, at, 5_000).catch(() => false);
    });
  }

  /** Click on `text` in editor line `line` (1-based), as a user puts the cursor there. */
  async clickText(line, text) {
    const page = this.page;
    const box = await until(`"${text}" on line ${line}`, () => page.evaluate(([n, t]) => {
      const rows = [...document.querySelectorAll(".monaco-editor .view-lines .view-line")]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
      const lineHeight = rows.length > 1 ? parseFloat(rows[1].style.top) - parseFloat(rows[0].style.top) : 19;
      const row = rows.find((r) => Math.round(parseFloat(r.style.top) / lineHeight) === n - 1);
      if (!row) return undefined;
      const span = [...row.querySelectorAll("span span")].find((s) => s.textContent.includes(t));
      if (!span) return undefined;
      const r = span.getBoundingClientRect();
      return { x: r.left + 2, y: r.top + r.height / 2 };
    }, [line, text]));
    await page.mouse.click(box.x, box.y);
    await until(`cursor on line ${line}`, () => page.evaluate((want) =>
      [...document.querySelectorAll(".statusbar-item")].some((e) => (e.textContent || "").includes(want)),
      `Ln ${line},`));
  }

  editorLines() {
    return this.page.evaluate(() => [...document.querySelectorAll(".monaco-editor .view-line")]
      .map((l) => l.textContent.replace(/\u00a0/g, " ")));
  }

  /** A notification whose message contains `text`; clicks `button` on it when given (with
   * `{ click: false }`, only waits until the notification shows that button). */
  async notification(text, button, { click = true, deadline = DEADLINE, everyMs = 250 } = {}) {
    const page = this.page;
    const toast = await until(`notification "${text}"`, async () => {
      const all = await page.$$(".notification-toast, .notifications-list-container .monaco-list-row");
      for (const t of all) if (((await t.textContent()) || "").includes(text)) return t;
      return undefined;
    }, deadline, everyMs);
    if (button) {
      const b = await until(`button "${button}"`, async () => {
        for (const el of await toast.$$(".monaco-button, a.monaco-button")) {
          if (((await el.textContent()) || "").trim() === button) return el;
        }
        return undefined;
      }, deadline, everyMs);
      if (click) await b.click();
    }
    return toast;
  }

  /** What an output channel of `name` holds (VS Code writes each one to a file under the user
   * data's logs: the panel shows only the lines in view), "" before it has any. */
  outputChannel(name) {
    const files = [];
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(`-${name}.log`)) files.push(p);
      }
    };
    try { walk(path.join(this.ud, "logs")); } catch { return ""; }
    return files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  }

  /** "lean-sidecar: Run doctor", and its output once it has said its verdict. */
  async runDoctor() {
    await this.command("lean-sidecar: Run doctor");
    await this.page.waitForSelector(".part.panel .monaco-editor .view-lines", { timeout: DEADLINE });
    return until("the doctor's verdict", () => {
      const text = this.outputChannel("lean-sidecar doctor");
      return /doctor: all good|doctor exited with/.test(text) ? text : undefined;
    });
  }

  /** The status bar item of lean-sidecar, as shown now ("" when there is none), with
   * "[warning] " in front when it shows the warning icon. */
  statusText() {
    return this.page.evaluate(() => {
      const item = [...document.querySelectorAll(".statusbar-item")]
        .find((e) => (e.textContent || "").includes("lean-sidecar"));
      if (!item) return "";
      return (item.querySelector(".codicon-warning") ? "[warning] " : "") + (item.textContent || "").trim();
    });
  }

  /** Take "Search proof for this sorry" from the light bulb at line:column (1-based), once the
   * sidecar offers it. */
  async searchFromLightBulb(line, column) {
    const page = this.page;
    const rows = () => page.locator(".context-view .monaco-list-row, .action-widget .monaco-list-row");
    await until("the Search proof action", async () => {
      await page.keyboard.press("Escape");
      await this.goTo(line, column);
      await page.keyboard.press("Control+.");
      const shown = await until("the quick-fix menu", async () => {
        const e = (await rows().allTextContents()).map((t) => t.replace(/\s+/g, " ").trim()).filter(Boolean);
        return e.length ? e : undefined;
      }, 60_000);
      if (shown.some((e) => e.includes("Search proof"))) {
        await this.chooseRow(rows, "Search proof");
        log(`search started from the light bulb at ${line}:${column}`);
        return true;
      }
      log(`menu: ${shown.join(" | ")}`);
      await page.keyboard.press("Escape");
      return false;
    }, DEADLINE, 1000);
  }

  /** A search that ends without a proof, from the light bulb at line:column: it shows as a
   * notification with a Cancel button (screenshot `searchShot`), then the sidecar's one message
   * naming the sorry and why (screenshot `toldShot`). Returns that message. */
  async searchWithoutProof(line, column, searchShot, toldShot) {
    await this.searchFromLightBulb(line, column);
    await this.notification("lean-sidecar: searching a proof", "Cancel", { click: false, deadline: 60_000 });
    log("the search shows as a notification with a Cancel button");
    await this.shot(searchShot);
    const phrase = `no proof of the sorry at Fill.lean:${line}:${column}`;
    await this.notification(phrase);
    await this.shot(toldShot);
    const all = await this.page.$$eval(".notification-list-item-message", (els) => els.map((e) => e.textContent || ""));
    const told = all.filter((t) => t.includes("no proof"));
    if (told.length !== 1) throw new Error(`the outcome was not told exactly once: ${all.join(" | ")}`);
    log(`told: ${told[0]}`);
    return told[0];
  }

  /** Answer modal dialogs whose text contains a key of `answers` with its button, in the
   * background, for as long as the workbench runs (they come when the extensions decide). */
  answerDialogs(answers) {
    this.answered = [];
    const tick = async () => {
      if (!this.page || this.closed) return;
      try {
        const box = await this.page.$(".monaco-dialog-box");
        const text = box ? ((await box.textContent()) || "") : "";
        for (const [needle, button] of Object.entries(answers)) {
          if (!text.includes(needle)) continue;
          for (const b of await box.$$(".monaco-button")) {
            if (((await b.textContent()) || "").trim() === button) {
              await b.click();
              this.answered.push(`${needle} -> ${button}`);
              log(`dialog "${needle}": ${button}`);
            }
          }
        }
      } catch { /* page busy or navigating */ }
      if (!this.closed) this.dialogTimer = setTimeout(tick, 500);
    };
    tick();
  }

  /** The light bulb at line:column until it offers "Fill sorry: ...": take "Search proof" while
   * it is not there yet, screenshot the menu with the fill, apply it. */
  /** Choose the menu row containing `text` with the keyboard (arrows, then Enter). */
  async chooseRow(rows, text) {
    const page = this.page;
    for (let i = 0; i < 12; i++) {
      const focused = (await rows().evaluateAll((els) => els.filter((e) => e.classList.contains("focused"))
        .map((e) => e.textContent || ""))).join(" ");
      if (focused.includes(text)) {
        await page.keyboard.press("Enter");
        return;
      }
      await page.keyboard.press("ArrowDown");
    }
    throw new Error(`no menu row "${text}" could be focused`);
  }

  async fillFromLightBulb(line, column, shotFile) {
    const page = this.page;
    // The light-bulb menu (VS Code's action widget) is a list in the context view.
    const rows = () => page.locator(".context-view .monaco-list-row, .action-widget .monaco-list-row");
    let searched = false;
    await until("the Fill sorry quick fix", async () => {
      await page.keyboard.press("Escape");
      await this.goTo(line, column);
      await page.keyboard.press("Control+.");
      const shown = await until("the quick-fix menu", async () => {
        const e = (await rows().allTextContents()).map((t) => t.replace(/\s+/g, " ").trim()).filter(Boolean);
        return e.length ? e : undefined;
      }, 60_000);
      if (shown.some((e) => e.includes("Fill sorry"))) {
        await this.shot(shotFile);
        await this.chooseRow(rows, "Fill sorry");
        return true;
      }
      if (!searched && shown.some((e) => e.includes("Search proof"))) {
        await this.chooseRow(rows, "Search proof");
        searched = true;
        log("search started from the light bulb");
      } else {
        log(`menu: ${shown.join(" | ")}`);
        await page.keyboard.press("Escape");
      }
      return false;
    }, DEADLINE, 1000);
    return true;
  }

  async shot(file) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.page.screenshot({ path: file });
    log(`screenshot ${file}`);
  }

  /** Every extension output channel and extension host log, for a failure report. */
  logs() {
    let out = "";
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/lean|exthost|remoteexthost/i.test(p) && p.endsWith(".log")) {
          out += `\n==== ${p}\n` + fs.readFileSync(p, "utf8").slice(-4000);
        }
      }
    };
    try { walk(path.join(this.ud, "logs")); } catch { /* no logs yet */ }
    return out;
  }

  async close() {
    this.closed = true;
    clearTimeout(this.dialogTimer);
    try { if (this.browser) await this.browser.close(); } catch { /* already gone */ }
    if (this.server) {
      try { process.kill(-this.server.pid, "SIGTERM"); } catch { /* already gone */ }
    }
  }
}

module.exports = { Workbench, until, log, DEADLINE };
