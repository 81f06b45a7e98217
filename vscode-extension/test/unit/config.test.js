// Unit tests of the extension's pure logic (node --test; no VS Code needed).
const test = require("node:test");
const assert = require("node:assert");
const { initializationOptions, serverCommand, serverEnv, chooseRoute, lakeShim, summarize, shellQuote,
  interpreterCandidates, doctorCommand, sidecarArgs, SIDECAR_LAUNCHER } = require("../../out/config.js");

test("only settings that are set are forwarded, under leanSidecar", () => {
  const opts = initializationOptions({ endpoints: ["http://gpu:8000"], model: "", temperature: 0.2,
    tactics: [], pythonPath: "/usr/bin/python3", route: "auto" });
  assert.deepStrictEqual(opts, { leanSidecar: { endpoints: ["http://gpu:8000"], temperature: 0.2, tactics: [] } });
});

test("server command: explicit command, then python, then PATH; upstream quoted", () => {
  assert.deepStrictEqual(serverCommand({ serverCommand: ["/x/py", "-m", "lean_sidecar", "serve"] }),
    { command: "/x/py", args: ["-m", "lean_sidecar", "serve"] });
  assert.deepStrictEqual(serverCommand({ pythonPath: "ignored: the interpreter found wins" }, "/v/bin/python"),
    { command: "/v/bin/python", args: ["-c", SIDECAR_LAUNCHER, "serve"] });
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

test("the lake shim: absolute interpreter, key from the socket into the environment only", () => {
  const text = lakeShim("/v/bin/python", "/shim/bin", "/run/user/1/lsc-x/key");
  assert.ok(text.startsWith("#!/v/bin/python\n"));
  assert.ok(text.includes('shim_dir = "/shim/bin"'));
  assert.ok(text.includes('key_socket = "/run/user/1/lsc-x/key"'));
  assert.ok(text.includes("socket.AF_UNIX"));
  assert.ok(text.includes('env["LEAN_SIDECAR_API_KEY"] = key'));
  assert.ok(text.includes('env.setdefault("LEAN_SIDECAR_LOG_FILE"'), "logs go to a file, not stderr");
  assert.ok(!/open\(|key_file/.test(text), "no key file any more");
  assert.ok(text.includes('"-c", launcher, "serve", "--upstream", upstream'));
  assert.ok(!text.includes('"-m"'), "never -m: it puts the project folder first on sys.path");
  assert.ok(text.includes("os.execv(real, [real, *args])"));
  assert.ok(lakeShim("/v/bin/python", "/shim/bin").includes('key_socket = ""'));
  assert.throws(() => lakeShim("python3", "/shim/bin"), /absolute/);
});

test("the sidecar starts without the working directory on sys.path", () => {
  assert.deepStrictEqual(sidecarArgs("serve"), ["-c", SIDECAR_LAUNCHER, "serve"]);
  assert.ok(SIDECAR_LAUNCHER.includes("sys.path.pop(0)") && SIDECAR_LAUNCHER.includes("from lean_sidecar.cli import main"));
  // What the launcher does, run by a real Python in a folder with a decoy lean_sidecar.py.
  const { execFileSync } = require("node:child_process");
  const fs = require("node:fs"); const os = require("node:os"); const path = require("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lsc-cwd-"));
  try {
    const probe = SIDECAR_LAUNCHER.replace(/from lean_sidecar.*$/, "print('' in sys.path or '.' in sys.path)");
    assert.strictEqual(execFileSync("python3", ["-c", probe], { cwd: dir, encoding: "utf8" }).trim(), "False");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Run doctor: the interpreter found, the project, the settings that are set; no key", () => {
  const c = doctorCommand("/v/bin/python", { endpoints: ["http://gpu:8000/v1", "http://b:1"], model: "",
    modelFamily: "kimina", lakePath: "lake", replPath: null, apiKey: "sk-never" }, "/home/u/proj");
  assert.strictEqual(c.command, "/v/bin/python");
  assert.deepStrictEqual(c.args, [...sidecarArgs("doctor"), "--project", "/home/u/proj",
    "--endpoint", "http://gpu:8000/v1", "--endpoint", "http://b:1", "--model-family", "kimina", "--lake-path", "lake"]);
  assert.ok(!c.args.join(" ").includes("sk-never"));
  assert.deepStrictEqual(doctorCommand("/p", {}).args, sidecarArgs("doctor"));
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
