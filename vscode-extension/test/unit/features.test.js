// The extension's feature classes, each on its own (node --test, with the fake vscode module):
// what they do, and that dispose() takes back what they registered.
const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const vscode = require("./fakes/vscode");
const { fake } = vscode;
const { ApiKey, SECRET } = require("../../out/apiKey.js");
const { StandaloneClient } = require("../../out/client.js");
const { Commands } = require("../../out/commands.js");
const { sidecarArgs } = require("../../out/config.js");
const { Doctor } = require("../../out/doctor.js");
const { EndpointCheck } = require("../../out/endpointCheck.js");
const { Launch } = require("../../out/launch.js");
const { SERVER } = require("../../out/serverCommands.js");
const { ShimRoute } = require("../../out/shim.js");
const { StatusBar } = require("../../out/statusBar.js");
const pkg = require("../../package.json");

/** Let promises that nobody awaits (a question to the user, a restart) run to their end. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lsc-ext-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An executable that answers the interpreter probe and prints how Run doctor called it. */
function fakePython(dir) {
  const file = path.join(dir, "python");
  fs.writeFileSync(file, '#!/bin/sh\necho "args: $*"\necho "key: ${LEAN_SIDECAR_API_KEY:-none}"\n', { mode: 0o755 });
  return file;
}

/** An ApiKey stand-in that counts its listeners. */
function fakeKey(socketPath = "/run/key") {
  const listeners = new Set();
  return {
    listeners,
    socket: async () => socketPath,
    current: async () => "sk-now",
    onDidChange(l) { listeners.add(l); return new vscode.Disposable(() => listeners.delete(l)); },
    async fire(key) { for (const l of listeners) await l(key); },
  };
}

function launch(over = {}) {
  return { route: "shim", python: "/v/bin/python", folders: ["/w"], cannotRun: () => false, ...over };
}

function ask(socketPath) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.createConnection(socketPath);
    s.on("data", (d) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    s.on("error", reject);
  });
}

test.beforeEach(() => fake.reset());

// A feature that leaks a timer, socket or server would keep this process alive and hang the run:
// end it with a failure instead.
test.after(() => setTimeout(() => {
  console.error("something outlived the tests (a timer, a socket, a server)");
  process.exit(1);
}, 3000).unref());

test("StatusBar: one item, shown; dispose removes it", () => {
  const status = new StatusBar("leanSidecar.checkEndpointStatus");
  const [item] = fake.state.items;
  assert.ok(item.visible && item.command === "leanSidecar.checkEndpointStatus");
  status.problem("not installed", "why");
  assert.match(item.text, /not installed/);
  status.dispose();
  assert.ok(item.disposed);
});

test("EndpointCheck: the endpoint's answer or error in the status bar; its timers go with dispose", async () => {
  const shown = [];
  const answers = [{ configured: true, endpoint: "http://gpu:8000", models: ["m1"] }, new Error("down")];
  const calls = [];
  const server = { call: async (command, arg) => { calls.push([command, arg]); const a = answers.shift(); if (a instanceof Error) throw a; return a; } };
  const check = new EndpointCheck({ endpoint: (r) => shown.push(r) }, server);
  await check.check();
  await check.check();
  assert.deepStrictEqual(calls, [[SERVER.checkEndpoint, {}], [SERVER.checkEndpoint, {}]]);
  assert.deepStrictEqual(shown[0].models, ["m1"]);
  assert.ok(shown[1] instanceof Error && shown[1].message === "down");

  const before = timers();
  check.watch();
  assert.strictEqual(timers(), before + 2);
  check.watch();  // watching again replaces the timers, never adds to them
  assert.strictEqual(timers(), before + 2);
  check.dispose();
  assert.strictEqual(timers(), before);
  check.dispose();
});

test("EndpointCheck: checks after the first delay, then on every interval", async () => {
  let n = 0;
  const check = new EndpointCheck({ endpoint: () => undefined }, { call: async () => { n++; return { configured: false }; } });
  check.watch(1, 15);
  await new Promise((r) => setTimeout(r, 100));
  check.dispose();
  const seen = n;
  assert.ok(seen >= 2, `${seen} checks`);
  await new Promise((r) => setTimeout(r, 50));
  assert.strictEqual(n, seen, "no check after dispose");
});

function commandDeps(over = {}) {
  const calls = [];
  const deps = {
    output: vscode.window.createOutputChannel("lean-sidecar"),
    status: { busy: (label, work) => work() },
    server: { call: async (command, arg) => { calls.push(["call", command, arg]); return {}; } },
    endpoint: { check: async () => { calls.push(["check"]); } },
    apiKey: { set: async (key) => { calls.push(["set", key]); } },
    shim: { routeLeanServer: async () => { calls.push(["route"]); }, log: "/nonexistent/sidecar.log" },
    doctor: { run: async () => { calls.push(["doctor"]); } },
    ...over,
  };
  return { deps, calls };
}

test("Commands: exactly the contributed commands while it lives, none after dispose", () => {
  const { deps } = commandDeps();
  const commands = new Commands(deps);
  const contributed = pkg.contributes.commands.map((c) => c.command).sort();
  assert.deepStrictEqual([...fake.state.commands.keys()].sort(), contributed);
  commands.dispose();
  assert.strictEqual(fake.state.commands.size, 0);
  commands.dispose();
  new Commands(deps).dispose();  // the ids are free again
});

test("Commands: each reaches its feature", async (t) => {
  const { deps, calls } = commandDeps();
  const commands = new Commands(deps);
  t.after(() => commands.dispose());
  const run = (id) => vscode.commands.executeCommand(`leanSidecar.${id}`);
  await run("cancelSearches");
  await run("checkEndpointStatus");
  await run("routeLeanServer");
  await run("runDoctor");
  fake.state.inputBox = undefined;  // the input box dismissed: nothing changes
  await run("setApiKey");
  fake.state.inputBox = "sk-new";
  await run("setApiKey");
  fake.state.inputBox = "";
  await run("setApiKey");
  assert.deepStrictEqual(calls, [["call", SERVER.cancelSearch, {}], ["check"], ["route"], ["doctor"],
    ["set", "sk-new"], ["set", ""]]);
  assert.deepStrictEqual(fake.state.messages.map((m) => m[1]), [
    "lean-sidecar: API key stored in VS Code's secret storage.", "lean-sidecar: API key removed."]);
  await run("showLog");
  assert.ok(deps.output.shown);
});

test("ApiKey: stored with its endpoint's origin, listeners told in order; refused without an endpoint", async (t) => {
  const secrets = fake.context(tmp(t)).secrets;
  const key = new ApiKey(secrets, vscode.window.createOutputChannel("lean-sidecar"));
  const told = [];
  key.onDidChange(async (k) => { told.push(["a", k]); });
  const second = key.onDidChange(async (k) => { told.push(["b", k]); });

  await key.set("sk-1");
  assert.strictEqual(secrets.held.size, 0, "no endpoint: nothing stored");
  assert.match(fake.state.messages[0][1], /set leanSidecar.endpoints/);
  assert.deepStrictEqual(told, []);

  fake.state.config.leanSidecar = { endpoints: ["https://gpu.example:8000/v1"] };
  await key.set("sk-1");
  assert.deepStrictEqual(JSON.parse(secrets.held.get(SECRET)), { origin: "https://gpu.example:8000", key: "sk-1" });
  assert.strictEqual(await key.current(), "sk-1");
  second.dispose();
  await key.set("");
  assert.ok(!secrets.held.has(SECRET));
  assert.deepStrictEqual(told, [["a", "sk-1"], ["b", "sk-1"], ["a", undefined]]);
  await key.dispose();
  await key.set("sk-2");
  assert.strictEqual(told.length, 3, "no listener after dispose");
});

test("ApiKey: a key saved for another origin is withheld, logged each time, shown once", async (t) => {
  const secrets = fake.context(tmp(t)).secrets;
  await secrets.store(SECRET, JSON.stringify({ origin: "https://gpu.example:8000", key: "sk-1" }));
  fake.state.config.leanSidecar = { endpoints: ["https://elsewhere.example"] };
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const key = new ApiKey(secrets, output);
  assert.strictEqual(await key.current(), undefined);
  assert.strictEqual(await key.current(), undefined);
  assert.strictEqual(output.lines.filter((l) => l.includes("saved for https://gpu.example:8000")).length, 2);
  assert.strictEqual(fake.state.messages.filter((m) => m[0] === "warning").length, 1);
});

test("ApiKey: one socket, serving the key of now; dispose closes it and removes its folder", async (t) => {
  const secrets = fake.context(tmp(t)).secrets;
  fake.state.config.leanSidecar = { endpoints: ["http://gpu:8000"] };
  const key = new ApiKey(secrets, vscode.window.createOutputChannel("lean-sidecar"));
  await key.set("sk-1");
  const socket = await key.socket();
  assert.strictEqual(await key.socket(), socket, "opened once");
  assert.strictEqual(await ask(socket), "sk-1");
  await key.set("sk-2");
  assert.strictEqual(await ask(socket), "sk-2");
  await key.set("");
  assert.strictEqual(await ask(socket), "");
  await key.dispose();
  assert.ok(!fs.existsSync(path.dirname(socket)));
  await key.dispose();
});

test("ShimRoute: removes an old key file; writes the shim and offers to route, in the shim route only", async (t) => {
  const storage = tmp(t);
  fs.writeFileSync(path.join(storage, "endpoint-key"), "sk-old");
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const standalone = new ShimRoute(vscode.Uri.file(storage), output, launch({ route: "standalone" }), fakeKey());
  assert.ok(!fs.existsSync(path.join(storage, "endpoint-key")));
  assert.strictEqual(standalone.log, path.join(storage, "sidecar.log"));
  await standalone.start();
  assert.ok(!fs.existsSync(path.join(storage, "bin", "lake")));
  standalone.dispose();

  fake.state.answers["lean-sidecar: route Lean's server"] = "Route it";
  const shim = new ShimRoute(vscode.Uri.file(storage), output, launch(), fakeKey("/run/k"));
  t.after(() => shim.dispose());
  await shim.start();
  await settle();
  const text = fs.readFileSync(path.join(storage, "bin", "lake"), "utf8");
  assert.ok(text.startsWith("#!/v/bin/python\n") && text.includes('key_socket = "/run/k"'));
  assert.deepStrictEqual(fake.state.updates, [["lean4", "envPathExtensions", [shim.dir], vscode.ConfigurationTarget.Global]]);
  assert.deepStrictEqual(fake.state.executed, [["lean4.restartServer"]]);
  assert.ok(shim.installed());
});

test("ShimRoute: the command routes without asking, unless the sidecar cannot run", async (t) => {
  const storage = tmp(t);
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const blocked = new ShimRoute(vscode.Uri.file(storage), output, launch({ cannotRun: () => true }), fakeKey());
  await blocked.routeLeanServer();
  assert.ok(!fs.existsSync(path.join(storage, "bin", "lake")));
  blocked.dispose();
  const shim = new ShimRoute(vscode.Uri.file(storage), output, launch({ route: "standalone" }), fakeKey());
  await shim.routeLeanServer();
  shim.dispose();
  assert.ok(fs.existsSync(path.join(storage, "bin", "lake")));
  assert.strictEqual(fake.state.messages.length, 0, "not asked");
  assert.deepStrictEqual(fake.state.config.lean4.envPathExtensions, [shim.dir]);
});

test("ShimRoute: a new key restarts Lean's server when routed; dispose stops listening", async (t) => {
  const storage = tmp(t);
  const key = fakeKey();
  const shim = new ShimRoute(vscode.Uri.file(storage), vscode.window.createOutputChannel("x"), launch(), key);
  await key.fire("sk-1");
  assert.deepStrictEqual(fake.state.executed, [], "not routed: nothing to restart");
  fake.state.config.lean4 = { envPathExtensions: [shim.dir] };
  await key.fire("sk-2");
  assert.deepStrictEqual(fake.state.executed, [["lean4.restartServer"]]);
  assert.strictEqual(key.listeners.size, 1);
  shim.dispose();
  assert.strictEqual(key.listeners.size, 0);
});

test("StandaloneClient: starts in the standalone route only; calls go through it, else through VS Code", async () => {
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const shimRoute = new StandaloneClient(output, launch(), fakeKey());
  await shimRoute.start(require("../../out/settings.js").readSettings(), "sk-1");
  assert.strictEqual(fake.state.clients.length, 0);
  fake.state.commandResults[SERVER.trace] = { via: "vscode" };
  assert.deepStrictEqual(await shimRoute.call(SERVER.trace, { uri: "u" }), { via: "vscode" });
  assert.deepStrictEqual(fake.state.executed, [[SERVER.trace, { uri: "u" }]]);
  await shimRoute.dispose();

  fake.state.workspaceFolders = [{ uri: vscode.Uri.file("/w") }];
  fake.state.config.leanSidecar = { model: "m" };
  const client = new StandaloneClient(output, launch({ route: "standalone" }), fakeKey());
  await client.start(require("../../out/settings.js").readSettings(), "sk-1");
  const [lc] = fake.state.clients;
  assert.ok(lc.started && client.running === lc);
  assert.strictEqual(lc.serverOptions.command, "/v/bin/python");
  assert.deepStrictEqual(lc.serverOptions.args, sidecarArgs("serve"));
  assert.strictEqual(lc.serverOptions.options.env.LEAN_SIDECAR_API_KEY, "sk-1");
  assert.strictEqual(lc.serverOptions.options.cwd, "/w");
  assert.strictEqual(lc.clientOptions.initializationOptions.leanSidecar.model, "m");
  assert.ok(lc.handlers.has("workspace/codeAction/refresh"));
  const r = await client.call(SERVER.fillAll, { uri: "u" });
  assert.deepStrictEqual(lc.requests, [["workspace/executeCommand", { command: SERVER.fillAll, arguments: [{ uri: "u" }] }]]);
  assert.strictEqual(r.via, "client");
  await client.dispose();
  assert.ok(lc.stopped && client.running === undefined);
});

test("StandaloneClient: a new key restarts it with the settings of now; none after dispose", async () => {
  const key = fakeKey();
  const client = new StandaloneClient(vscode.window.createOutputChannel("x"), launch({ route: "standalone" }), key);
  await key.fire("sk-0");
  assert.strictEqual(fake.state.clients.length, 0, "never started: nothing to restart");
  await client.start(require("../../out/settings.js").readSettings(), undefined);
  fake.state.config.leanSidecar = { model: "m2" };
  await key.fire("sk-2");
  const [first, second] = fake.state.clients;
  assert.ok(first.stopped && second.started && !second.stopped);
  assert.strictEqual(second.serverOptions.options.env.LEAN_SIDECAR_API_KEY, "sk-2");
  assert.strictEqual(second.clientOptions.initializationOptions.leanSidecar.model, "m2");
  await client.dispose();
  assert.ok(second.stopped);
  assert.strictEqual(key.listeners.size, 0);
  await client.dispose();
});

test("Doctor: runs the interpreter found in its output channel, the key in the environment only", async (t) => {
  const python = fakePython(tmp(t));
  fake.state.config.leanSidecar = { endpoints: ["http://gpu:8000"] };
  const doctor = new Doctor(launch({ python, folders: ["/tmp"] }), fakeKey());
  const channel = fake.state.outputs.find((c) => c.name === "lean-sidecar doctor");
  await doctor.run();
  assert.ok(channel.shown);
  assert.match(channel.text, /\$ lean-sidecar doctor \(.*python, in \/tmp\)/);
  assert.match(channel.text, /args: -c .* doctor --project \/tmp --endpoint http:\/\/gpu:8000 --model-family auto --lake-path lake$/m);
  assert.match(channel.text, /key: sk-now/);
  assert.ok(!/args: .*sk-now/.test(channel.text));
  assert.match(channel.text, /doctor: all good/);
  doctor.dispose();
  assert.ok(channel.disposed);

  const none = new Doctor(launch({ python: undefined }), fakeKey());
  await none.run();
  assert.match(fake.state.messages[0][1], /Run doctor needs a Python/);
  none.dispose();
});

test("Launch: the route; no interpreter search with the standalone route's own command", async () => {
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const status = { problem: () => assert.fail("no problem") };
  const settings = (over) => ({ ...require("../../out/settings.js").readSettings(), ...over });
  const own = await Launch.find(settings({ route: "standalone", serverCommand: ["/x/sidecar", "serve"] }), output, status);
  assert.strictEqual(own.route, "standalone");
  assert.strictEqual(own.python, undefined);
  assert.strictEqual(own.cannotRun(), false);
  assert.deepStrictEqual(output.lines.filter((l) => l.startsWith("interpreter")), []);
  fake.state.extensions = ["leanprover.lean4"];
  fake.state.workspaceFolders = [{ uri: vscode.Uri.file("/w") }];
  const shim = await Launch.find(settings({ route: "auto", serverCommand: ["/x/sidecar"], pythonPath: "/nonexistent/python" }), output, status);
  assert.strictEqual(shim.route, "shim");
  assert.deepStrictEqual(shim.folders, ["/w"]);
});

test("Launch: the interpreter found, or why the sidecar cannot run (log, status bar, error)", async (t) => {
  const dir = tmp(t);
  const saved = { PATH: process.env.PATH, HOME: process.env.HOME };
  process.env.PATH = dir;  // no lean-sidecar script, no pipx venv: only the setting counts
  process.env.HOME = dir;
  t.after(() => Object.assign(process.env, saved));
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const problems = [];
  const status = { problem: (text, why) => problems.push([text, why]) };
  const settings = (over) => ({ ...require("../../out/settings.js").readSettings(), ...over });

  const missing = await Launch.find(settings({ route: "standalone", pythonPath: "/nonexistent/python" }), output, status);
  assert.strictEqual(missing.cannotRun(), true);
  assert.strictEqual(problems[0][0], "not installed");
  assert.match(problems[0][1], /tried: \/nonexistent\/python: not found/);
  assert.match(fake.state.messages[0][1], /no Python with lean-sidecar installed was found/);
  assert.ok(output.lines.includes("interpreter /nonexistent/python: not found"));

  const python = fakePython(dir);
  const found = await Launch.find(settings({ route: "standalone", pythonPath: python }), output, status);
  assert.strictEqual(found.python, python);
  assert.strictEqual(found.cannotRun(), false);
  assert.ok(output.lines.includes(`interpreter: ${python}`));
});

test("EndpointCheck: a server command not registered yet is \"starting\", tried again soon, then the answer", async () => {
  const { ServerNotStarted } = require("../../out/client.js");
  const shown = [];
  let registered = false;
  let calls = 0;
  const server = { call: async () => {
    calls++;
    if (!registered) throw new ServerNotStarted(SERVER.checkEndpoint);
    return { configured: false };
  } };
  const status = { starting: () => shown.push("starting"), endpoint: (r) => shown.push(r) };
  const check = new EndpointCheck(status, server, 5, 3);
  const before = timers();
  await check.check();
  assert.deepStrictEqual(shown, ["starting"], "no warning while the sidecar starts");
  assert.strictEqual(timers(), before + 1, "a retry is due soon");
  await new Promise((r) => setTimeout(r, 40));
  assert.strictEqual(calls, 4, "at most maxRetries retries in a row");
  assert.strictEqual(timers(), before, "then only the regular interval");
  registered = true;
  await check.check();
  assert.deepStrictEqual(shown.at(-1), { configured: false });
  assert.ok(!shown.some((s) => s instanceof Error));
  registered = false;
  await check.check();
  check.dispose();
  assert.strictEqual(timers(), before, "dispose takes the retry back too");
});

test("StandaloneClient (shim route): a command nobody registered yet is ServerNotStarted; other errors stay", async () => {
  const { ServerNotStarted } = require("../../out/client.js");
  const client = new StandaloneClient(vscode.window.createOutputChannel("x"), launch(), fakeKey());
  fake.state.commandResults[SERVER.checkEndpoint] = new fake.NotFound(SERVER.checkEndpoint);
  await assert.rejects(client.call(SERVER.checkEndpoint, {}), ServerNotStarted);
  fake.state.commandResults[SERVER.checkEndpoint] = new Error("endpoint exploded");
  await assert.rejects(client.call(SERVER.checkEndpoint, {}), /endpoint exploded/);
  await client.dispose();
});

test("Search proof: the server's search in a cancellable notification; Cancel cancels the file's searches", async (t) => {
  const { SEARCH_WITH_NOTIFICATION } = require("../../out/config.js");
  let finish;
  const calls = [];
  const server = { call: (command, arg) => {
    calls.push([command, arg]);
    if (command !== SERVER.searchProof) return Promise.resolve({ cancelled: 1 });
    return new Promise((resolve) => { finish = resolve; });
  } };
  const { deps } = commandDeps({ server });
  const commands = new Commands(deps);
  t.after(() => commands.dispose());
  const arg = { uri: "file:///p/Fill.lean", version: 3, position: { line: 6, character: 2 } };
  const running = vscode.commands.executeCommand(SEARCH_WITH_NOTIFICATION, arg);
  await settle();
  const [shown] = fake.state.progress;
  assert.deepStrictEqual(shown.options, { location: vscode.ProgressLocation.Notification,
    title: "lean-sidecar: searching a proof (Fill.lean:7)", cancellable: true });
  assert.deepStrictEqual(calls, [[SERVER.searchProof, arg]]);
  shown.cancel();  // the notification's Cancel button
  assert.deepStrictEqual(calls[1], [SERVER.cancelSearch, { uri: arg.uri }]);
  finish({ status: "cancelled" });
  assert.deepStrictEqual(await running, { status: "cancelled" });
  assert.ok(shown.done);
  // A search without a proof: the server told the user (window/showMessage), so nothing more here.
  const again = vscode.commands.executeCommand(SEARCH_WITH_NOTIFICATION, arg);
  await settle();
  finish({ status: "unsolved", error: null, found: [] });
  await again;
  assert.deepStrictEqual(fake.state.messages, []);
  assert.match(deps.output.text, /search at Fill\.lean:7: unsolved/);
});

test("Search proof: a search that cannot run says why, once", async (t) => {
  const { SEARCH_WITH_NOTIFICATION } = require("../../out/config.js");
  const server = { call: async () => { throw new Error("no sorry at 7:3"); } };
  const { deps } = commandDeps({ server });
  const commands = new Commands(deps);
  t.after(() => commands.dispose());
  await vscode.commands.executeCommand(SEARCH_WITH_NOTIFICATION, { uri: "file:///p/Fill.lean", position: { line: 6, character: 2 } });
  assert.deepStrictEqual(fake.state.messages, [["error", "lean-sidecar: searching a proof (Fill.lean:7): no sorry at 7:3"]]);
});

test("the standalone client tells the server its search command; the shim tells the sidecar behind it", async () => {
  const { SEARCH_WITH_NOTIFICATION, lakeShim } = require("../../out/config.js");
  const client = new StandaloneClient(vscode.window.createOutputChannel("x"), launch({ route: "standalone" }), fakeKey());
  await client.start(require("../../out/settings.js").readSettings(), undefined);
  const [lc] = fake.state.clients;
  assert.strictEqual(lc.clientOptions.initializationOptions.leanSidecar.editorSearchCommand, SEARCH_WITH_NOTIFICATION);
  await client.dispose();
  assert.ok(lakeShim("/v/bin/python", "/shim/bin").includes(
    `env.setdefault("LEAN_SIDECAR_EDITOR_SEARCH_COMMAND", "${SEARCH_WITH_NOTIFICATION}")`));
  // hidden from the palette: it needs the sorry's argument, which only the code action has
  const hidden = pkg.contributes.menus.commandPalette.find((m) => m.command === SEARCH_WITH_NOTIFICATION);
  assert.strictEqual(hidden.when, "false");
});
