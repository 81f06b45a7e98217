// activate() and deactivate() with the fake vscode module (node --test): every feature is handed
// to context.subscriptions, and disposing them (as VS Code does) leaves nothing registered,
// nothing shown, no timer, no server and no key socket behind.
const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const vscode = require("./fakes/vscode");
const { fake } = vscode;
const { activate, deactivate } = require("../../out/extension.js");
const pkg = require("../../package.json");

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
const contributed = pkg.contributes.commands.map((c) => c.command).sort();

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lsc-act-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What VS Code does on deactivation: await deactivate(), then dispose every subscription. */
async function shutDown(context) {
  await deactivate();
  for (const d of context.subscriptions) d.dispose();
}

function assertAllGone(context) {
  assert.strictEqual(fake.state.commands.size, 0, [...fake.state.commands.keys()].join(", "));
  assert.ok(fake.state.items.every((i) => i.disposed), "status bar item");
  assert.ok(fake.state.outputs.every((c) => c.disposed), "output channels");
  assert.ok(fake.state.clients.every((c) => !c.started || c.stopped), "language client");
  for (const d of context.subscriptions) assert.strictEqual(typeof d.dispose, "function");
}

test.beforeEach(() => fake.reset());

// A feature that leaks a timer, socket or server would keep this process alive and hang the run:
// end it with a failure instead.
test.after(() => setTimeout(() => {
  console.error("something outlived the tests (a timer, a socket, a server)");
  process.exit(1);
}, 3000).unref());

test("standalone route: starts the client, registers the commands; all gone once disposed", async (t) => {
  const context = fake.context(tmp(t));
  fake.state.config.leanSidecar = { route: "standalone", serverCommand: ["/x/sidecar", "serve"] };
  const before = timers();
  await activate(context);
  assert.deepStrictEqual([...fake.state.commands.keys()].sort(), contributed);
  const [client] = fake.state.clients;
  assert.ok(client.started);
  assert.strictEqual(client.serverOptions.command, "/x/sidecar");
  assert.strictEqual(timers(), before + 2, "the endpoint check's timers");
  assert.strictEqual(fake.state.items.length, 1);
  await shutDown(context);
  assertAllGone(context);
  assert.ok(client.stopped);
  assert.strictEqual(timers(), before);
});

test("shim route: writes the shim, opens the key socket, asks; all gone once disposed", async (t) => {
  const storage = tmp(t);
  const python = path.join(storage, "python");
  fs.writeFileSync(python, "#!/bin/sh\necho 0.1.0\n", { mode: 0o755 });
  const context = fake.context(storage);
  fake.state.extensions = ["leanprover.lean4"];
  fake.state.config.leanSidecar = { pythonPath: python };
  fake.state.answers["lean-sidecar: route Lean's server"] = "Not now";
  await activate(context);
  const output = fake.state.outputs.find((c) => c.name === "lean-sidecar");
  assert.ok(output.lines.includes("route: shim"));
  assert.ok(output.lines.includes(`interpreter: ${python}`));
  const socketLine = output.lines.find((l) => l.startsWith("API key socket: "));
  const socket = socketLine.slice("API key socket: ".length);
  assert.ok(fs.statSync(socket).isSocket());
  assert.ok(fs.readFileSync(path.join(storage, "bin", "lake"), "utf8").includes(`key_socket = ${JSON.stringify(socket)}`));
  assert.strictEqual(fake.state.clients.length, 0);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(fake.state.messages.some((m) => m[0] === "info" && m[1].startsWith("lean-sidecar: route Lean's server")));
  assert.deepStrictEqual(fake.state.updates, [], "not routed: the user said not now");
  await shutDown(context);
  assertAllGone(context);
  assert.ok(!fs.existsSync(path.dirname(socket)), "the key socket's folder is removed");
});

test("no interpreter: says so, starts nothing, the commands are there; all gone once disposed", async (t) => {
  const dir = tmp(t);
  const saved = { PATH: process.env.PATH, HOME: process.env.HOME };
  process.env.PATH = dir;
  process.env.HOME = dir;
  t.after(() => Object.assign(process.env, saved));
  const context = fake.context(dir);
  fake.state.config.leanSidecar = { pythonPath: "/nonexistent/python" };
  const before = timers();
  await activate(context);
  assert.deepStrictEqual([...fake.state.commands.keys()].sort(), contributed);
  assert.match(fake.state.items[0].text, /not installed/);
  assert.match(fake.state.messages[0][1], /no Python with lean-sidecar installed was found/);
  assert.strictEqual(fake.state.clients.length, 0);
  assert.strictEqual(timers(), before, "no endpoint check");
  await shutDown(context);
  assertAllGone(context);
});
