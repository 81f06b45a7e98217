// The typed settings (node --test, with the fake vscode module): one reader, in step with
// package.json's generated contributes.configuration.
const test = require("node:test");
const assert = require("node:assert");
const vscode = require("./fakes/vscode");
const { SETTING_TYPES, readSettings } = require("../../out/settings.js");
const { EXTENSION_ONLY, initializationOptions } = require("../../out/config.js");
const pkg = require("../../package.json");

const props = pkg.contributes.configuration.properties;

test("every contributed setting is typed, with package.json's type, and nothing else", () => {
  const contributed = Object.keys(props).map((k) => k.replace(/^leanSidecar\./, ""));
  assert.deepStrictEqual(Object.keys(SETTING_TYPES).sort(), contributed.sort());
  for (const [key, type] of Object.entries(SETTING_TYPES)) {
    assert.deepStrictEqual(type, props[`leanSidecar.${key}`].type, key);
  }
  for (const key of EXTENSION_ONLY) assert.ok(key in SETTING_TYPES, key);
});

test("readSettings: package.json's defaults, the user's values over them", () => {
  vscode.fake.reset();
  const defaults = readSettings();
  for (const [key, prop] of Object.entries(props)) {
    assert.deepStrictEqual(defaults[key.replace(/^leanSidecar\./, "")], prop.default, key);
  }
  vscode.fake.state.config.leanSidecar = { endpoints: ["http://gpu:8000/v1"], route: "standalone", budgetSamples: 3 };
  const s = readSettings();
  assert.deepStrictEqual(s.endpoints, ["http://gpu:8000/v1"]);
  assert.strictEqual(s.route, "standalone");
  assert.strictEqual(s.budgetSamples, 3);
  assert.strictEqual(s.lakePath, "lake");
});

test("the server gets every contributed setting that is set, as before (none of the extension's own)", () => {
  vscode.fake.reset();
  const expected = {};
  for (const [key, prop] of Object.entries(props)) {
    const name = key.replace(/^leanSidecar\./, "");
    if (prop.default !== null && !EXTENSION_ONLY.includes(name)) expected[name] = prop.default;
  }
  assert.deepStrictEqual(initializationOptions(readSettings()), { leanSidecar: expected });
});
