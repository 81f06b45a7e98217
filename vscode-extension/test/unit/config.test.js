// Unit tests of the extension's pure logic (node --test; no VS Code needed).
const test = require("node:test");
const assert = require("node:assert");
const { initializationOptions, serverCommand, serverEnv, chooseRoute, lakeShim, summarize, shellQuote,
  interpreterCandidates } = require("../../out/config.js");

test("only settings that are set are forwarded, under leanSidecar", () => {
  const opts = initializationOptions({ endpoints: ["http://gpu:8000"], model: "", temperature: 0.2,
    tactics: [], pythonPath: "/usr/bin/python3", route: "auto" });
  assert.deepStrictEqual(opts, { leanSidecar: { endpoints: ["http://gpu:8000"], temperature: 0.2, tactics: [] } });
});

test("server command: explicit command, then python, then PATH; upstream quoted", () => {
  assert.deepStrictEqual(serverCommand({ serverCommand: ["/x/py", "-m", "lean_sidecar", "serve"] }),
    { command: "/x/py", args: ["-m", "lean_sidecar", "serve"] });
  assert.deepStrictEqual(serverCommand({ pythonPath: "ignored: the interpreter found wins" }, "/v/bin/python"),
    { command: "/v/bin/python", args: ["-m", "lean_sidecar", "serve"] });
  assert.deepStrictEqual(serverCommand({}), { command: "lean-sidecar", args: ["serve"] });
  assert.deepStrictEqual(serverCommand({ upstream: ["lake", "serve", "--", "/my dir"] }).args,
    ["serve", "--upstream", "lake serve -- '/my dir'"]);
  assert.strictEqual(shellQuote("it's"), `'it'"'"'s'`);
});

test("the API key goes to the environment only when set", () => {
  assert.strictEqual(serverEnv({ A: "1" }, "sk-x").LEAN_SIDECAR_API_KEY, "sk-x");
  assert.ok(!("LEAN_SIDECAR_API_KEY" in serverEnv({ A: "1" }, undefined)));
});

test("route: shim when the Lean extension is installed, unless told otherwise", () => {
  assert.strictEqual(chooseRoute("auto", true), "shim");
  assert.strictEqual(chooseRoute("auto", false), "standalone");
  assert.strictEqual(chooseRoute("standalone", true), "standalone");
  assert.strictEqual(chooseRoute(undefined, false), "standalone");
});

test("the lake shim: absolute interpreter, key from a file into the environment only", () => {
  const text = lakeShim("/v/bin/python", "/shim/bin", "/store/endpoint-key");
  assert.ok(text.startsWith("#!/v/bin/python\n"));
  assert.ok(text.includes('shim_dir = "/shim/bin"'));
  assert.ok(text.includes('key_file = "/store/endpoint-key"'));
  assert.ok(text.includes('env["LEAN_SIDECAR_API_KEY"] = key'));
  assert.ok(text.includes("os.execv(real, [real, *args])"));
  assert.throws(() => lakeShim("python3", "/shim/bin"), /absolute/);
});

test("interpreter candidates: setting, then the lean-sidecar script's shebang, then venvs", () => {
  const c = interpreterCandidates({ pythonPath: "", scriptShebang: "#!/opt/v/bin/python3.12",
    workspaceFolders: ["/w"], home: "/h" });
  assert.deepStrictEqual(c.slice(0, 3), ["/opt/v/bin/python3.12", "/w/.venv/bin/python", "/w/venv/bin/python"]);
  assert.ok(c.includes("/h/.local/share/pipx/venvs/lean-sidecar/bin/python"));
  assert.strictEqual(interpreterCandidates({ pythonPath: "/p/python", workspaceFolders: [], home: "/h" })[0], "/p/python");
  // `#!/usr/bin/env python3` names no interpreter of its own.
  assert.ok(!interpreterCandidates({ scriptShebang: "#!/usr/bin/env python3", workspaceFolders: [], home: "/h" })
    .includes("/usr/bin/env"));
});

test("empty or null settings are not forwarded; extension-only settings never are", () => {
  const opts = initializationOptions({ replPath: "", cachePath: null, lakePath: "lake", route: "auto",
    serverCommand: null, pythonPath: null });
  assert.deepStrictEqual(opts, { leanSidecar: { lakePath: "lake" } });
});

test("summaries", () => {
  assert.strictEqual(summarize({ status: "solved", found: [{ proof: "omega\nsimp", how: "tactic" }] }),
    "verified (tactic): omega");
  assert.strictEqual(summarize({ status: "error", error: "no Lean REPL" }), "error: no Lean REPL");
});

test("no contributed command id collides with a command the server registers", () => {
  // vscode-languageclient registers the server's executeCommandProvider ids as VS Code
  // commands; a collision makes the client's initialization fail. The server's ids come from
  // server-commands.json, generated from the server by tools/gen_vscode_contrib.py.
  const fs = require("node:fs");
  const path = require("node:path");
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
  const ours = pkg.contributes.commands.map((c) => c.command);
  const serverIds = require("../../src/server-commands.json").commands;
  assert.ok(serverIds.length >= 5, serverIds.join(","));
  for (const id of ours) assert.ok(!serverIds.includes(id), `${id} is also a server command`);
});

test("no setting defaults to an empty string (it would override the server's value)", () => {
  const fs = require("node:fs");
  const path = require("node:path");
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
  for (const [key, prop] of Object.entries(pkg.contributes.configuration.properties)) {
    assert.notStrictEqual(prop.default, "", `${key} defaults to ""`);
  }
});
