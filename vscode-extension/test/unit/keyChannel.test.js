// The API key channel of the shim route (node --test; no VS Code needed): a private Unix socket
// that answers with the key, follows key changes at once, and leaves nothing behind.
const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { KeyChannel, MAX_SOCKET_PATH, socketBases, removeStale, PREFIX } = require("../../out/keyChannel.js");

/** What a client (the shim) reads from the socket. */
function ask(socketPath) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.createConnection(socketPath);
    s.on("data", (d) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    s.on("error", reject);
  });
}

test("serves the key, a new key at once, nothing once cleared; removes its directory", async () => {
  const ch = await KeyChannel.open("sk-one", {});
  try {
    assert.strictEqual(fs.statSync(ch.dir).mode & 0o777, 0o700);
    assert.ok(fs.statSync(ch.socketPath).isSocket());
    assert.ok(Buffer.byteLength(ch.socketPath) <= MAX_SOCKET_PATH);
    assert.strictEqual(await ask(ch.socketPath), "sk-one");
    ch.setKey("sk-two");
    assert.strictEqual(await ask(ch.socketPath), "sk-two");
    ch.setKey("");
    assert.strictEqual(await ask(ch.socketPath), "");
    // Nothing in the directory but the socket: no key file.
    assert.deepStrictEqual(fs.readdirSync(ch.dir), ["key"]);
  } finally {
    await ch.close();
  }
  assert.ok(!fs.existsSync(ch.dir));
  await assert.rejects(ask(ch.socketPath));
});

test("XDG_RUNTIME_DIR first; a base too long for sun_path falls back to the temp folder", async () => {
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), "xdg-"));
  const deep = path.join(runtime, "d".repeat(100));
  fs.mkdirSync(deep);
  try {
    assert.deepStrictEqual(socketBases({ XDG_RUNTIME_DIR: runtime }).slice(0, 2), [runtime, os.tmpdir()]);
    assert.ok(!socketBases({ XDG_RUNTIME_DIR: "relative/dir" }).includes("relative/dir"));
    const near = await KeyChannel.open(undefined, { XDG_RUNTIME_DIR: runtime });
    assert.strictEqual(path.dirname(near.dir), runtime);
    assert.strictEqual(await ask(near.socketPath), "");
    await near.close();
    const far = await KeyChannel.open("sk-x", { XDG_RUNTIME_DIR: deep });
    assert.notStrictEqual(path.dirname(far.dir), deep);
    assert.strictEqual(await ask(far.socketPath), "sk-x");
    await far.close();
    assert.deepStrictEqual(fs.readdirSync(deep), []);  // the failed try left nothing behind
  } finally {
    fs.rmSync(runtime, { recursive: true, force: true });
  }
});

test("the directory goes when the process exits without close()", () => {
  const { execFileSync } = require("node:child_process");
  const script = `require(${JSON.stringify(require.resolve("../../out/keyChannel.js"))}).KeyChannel.open("sk-e", {})`
    + ".then((c) => { console.log(c.dir); process.exit(0); })";
  const dir = execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim();
  assert.ok(path.basename(dir).startsWith(PREFIX), dir);
  assert.ok(!fs.existsSync(dir), `${dir} left behind`);
});

test("stale folders of killed windows are removed; live ones and others' are not", async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "stale-"));
  const env = { XDG_RUNTIME_DIR: base };
  try {
    const live = await KeyChannel.open("sk-live", env);
    // A killed window: its socket file is there but nobody listens.
    const { execFileSync } = require("node:child_process");
    const script = `const c = require(${JSON.stringify(require.resolve("../../out/keyChannel.js"))});`
      + `c.KeyChannel.open("sk-k", ${JSON.stringify(env)}).then((ch) => { console.log(ch.dir); process.kill(process.pid, "SIGKILL"); })`;
    let killed = "";
    try { execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }); } catch (e) { killed = e.stdout.trim(); }
    assert.ok(fs.existsSync(path.join(killed, "key")), `a killed host leaves ${killed}`);
    // Folders that are not a dead channel's stay: other contents, a plain file named key, empty,
    // another prefix.
    const keep = [`${PREFIX}notes`, `${PREFIX}file`, `${PREFIX}empty`, "lean-sidecar-repl-x"].map((n) => path.join(base, n));
    for (const d of keep) fs.mkdirSync(d, { mode: 0o700 });
    fs.writeFileSync(path.join(keep[0], "notes"), "x");
    fs.writeFileSync(path.join(keep[1], "key"), "");
    const removed = (await removeStale(env)).filter((d) => d.startsWith(base));
    assert.deepStrictEqual(removed, [killed]);
    assert.ok(fs.existsSync(live.socketPath));
    for (const d of keep) assert.ok(fs.existsSync(d), d);
    await live.close();
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
