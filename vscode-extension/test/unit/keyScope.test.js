// The API key goes only to the endpoint origin it was saved for.
const test = require("node:test");
const assert = require("node:assert");
const { endpointOrigin, storeKey, keyFor } = require("../../out/keyScope.js");

test("a key is saved with its endpoint's origin and sent only there", () => {
  const { stored } = storeKey("sk-1", ["https://gpu.example:8000/v1"]);
  assert.deepStrictEqual(keyFor(stored, ["https://gpu.example:8000"]), { key: "sk-1" });
  assert.deepStrictEqual(keyFor(stored, "https://gpu.example:8000/other"), { key: "sk-1" });
  const elsewhere = keyFor(stored, ["https://attacker.example"]);
  assert.strictEqual(elsewhere.key, undefined);
  assert.match(elsewhere.withheld, /saved for https:\/\/gpu.example:8000/);
  assert.strictEqual(keyFor(stored, ["https://gpu.example:8000", "https://attacker.example"]).key, undefined);
  assert.strictEqual(keyFor(stored, []).key, undefined);
});

test("no endpoint, no key saved; an old unscoped key is not sent", () => {
  assert.ok(storeKey("sk-1", []).error);
  assert.ok(storeKey("sk-1", ["not a url"]).error);
  assert.deepStrictEqual(keyFor(undefined, ["https://gpu.example"]), {});
  const legacy = keyFor("sk-plain-old", ["https://gpu.example"]);
  assert.strictEqual(legacy.key, undefined);
  assert.match(legacy.withheld, /set it again/);
  assert.strictEqual(endpointOrigin(["http://a:1", "http://a:1/x"]), "http://a:1");
});
