// A stand-in for the `vscode` module (and vscode-languageclient's LanguageClient), enough for the
// extension's feature classes to run under node --test, and recording what they register so that
// tests can check that dispose() takes it all back. Require this before any out/*.js that imports
// vscode: it makes `require("vscode")` resolve here.
const Module = require("node:module");
const path = require("node:path");

const pkg = require("../../../package.json");

/** What the fake VS Code holds and saw; reset() between tests. */
const state = {};

function reset() {
  Object.assign(state, {
    commands: new Map(),       // id -> handler, while registered
    executed: [],              // [id, ...args] of executeCommand
    commandResults: {},        // id -> what executeCommand answers for a command nobody registered
    messages: [],              // [kind, text, ...items]
    answers: {},               // message text prefix -> item chosen (else undefined)
    inputBox: undefined,       // what showInputBox answers
    config: {},                // section -> { key: value } set by the user
    updates: [],               // [section, key, value, target]
    outputs: [],               // output channels created
    items: [],                 // status bar items created
    clients: [],               // LanguageClients created
    extensions: [],            // ids installed
    workspaceFolders: undefined,
    activeTextEditor: undefined,
    progress: [],              // { options, cancel() (the notification's Cancel button), done } per withProgress
  });
}

class Disposable {
  constructor(callOnDispose) { this.callOnDispose = callOnDispose; }
  static from(...items) { return new Disposable(() => items.forEach((d) => d.dispose())); }
  dispose() {
    const f = this.callOnDispose;
    this.callOnDispose = undefined;
    if (f) f();
  }
}

class Uri {
  constructor(scheme, fsPath) { this.scheme = scheme; this.fsPath = fsPath; this.path = fsPath; }
  static file(p) { return new Uri("file", p); }
  static joinPath(base, ...parts) { return new Uri(base.scheme, path.join(base.fsPath, ...parts)); }
  toString() { return `${this.scheme}://${this.fsPath}`; }
}

/** What executeCommand throws for an id nobody registered (put it in commandResults): VS Code's
 * "command '…' not found". */
class NotFound extends Error {
  constructor(id) { super(`command '${id}' not found`); }
}

class Position { constructor(line, character) { this.line = line; this.character = character; } }
class Range { constructor(start, end) { this.start = start; this.end = end; } }

function outputChannel(name) {
  return {
    name, lines: [], text: "", shown: false, disposed: false,
    appendLine(line) { this.lines.push(line); this.text += `${line}\n`; },
    append(text) { this.text += text; },
    clear() { this.text = ""; },
    show() { this.shown = true; },
    dispose() { this.disposed = true; },
  };
}

function message(kind) {
  return (text, ...items) => {
    state.messages.push([kind, text, ...items]);
    const key = Object.keys(state.answers).find((k) => text.startsWith(k));
    return Promise.resolve(key === undefined ? undefined : state.answers[key]);
  };
}

/** Defaults of contributes.configuration: what VS Code answers for a setting nobody set. */
const DEFAULTS = {};
for (const [key, prop] of Object.entries(pkg.contributes.configuration.properties)) {
  const [section, name] = key.split(".");
  (DEFAULTS[section] ??= {})[name] = prop.default;
}

const exported = {
  Disposable, Uri, Position, Range,
  StatusBarAlignment: { Left: 1, Right: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  ViewColumn: { Active: -1, Beside: -2 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  window: {
    activeTextEditor: undefined,
    createOutputChannel(name) {
      const ch = outputChannel(name);
      state.outputs.push(ch);
      return ch;
    },
    createStatusBarItem(alignment, priority) {
      const item = { alignment, priority, text: "", tooltip: undefined, command: undefined, visible: false, disposed: false,
        show() { this.visible = true; }, hide() { this.visible = false; }, dispose() { this.disposed = true; } };
      state.items.push(item);
      return item;
    },
    showErrorMessage: message("error"),
    showWarningMessage: message("warning"),
    showInformationMessage: message("info"),
    showInputBox: async () => state.inputBox,
    /** Runs the task at once with a token whose cancellation `state.progress[i].cancel()` fires
     * (the notification's Cancel button). */
    withProgress(options, task) {
      const listeners = [];
      const token = {
        isCancellationRequested: false,
        onCancellationRequested(l) { listeners.push(l); return new Disposable(() => listeners.splice(listeners.indexOf(l), 1)); },
      };
      const shown = { options, done: false, cancel() { token.isCancellationRequested = true; for (const l of [...listeners]) l(); } };
      state.progress.push(shown);
      return Promise.resolve(task({ report() {} }, token)).finally(() => { shown.done = true; });
    },
    showTextDocument: async (doc) => doc,
  },
  workspace: {
    workspaceFolders: undefined,
    getConfiguration(section) {
      return {
        get(key, fallback) {
          const user = state.config[section] ?? {};
          if (key in user) return user[key];
          const d = DEFAULTS[section] ?? {};
          return key in d ? d[key] : fallback;
        },
        async update(key, value, target) {
          state.updates.push([section, key, value, target]);
          (state.config[section] ??= {})[key] = value;
        },
      };
    },
    getWorkspaceFolder: () => undefined,
    fs: { stat: async (uri) => require("node:fs").statSync(uri.fsPath) },
    openTextDocument: async (arg) => ({ arg }),
    applyEdit: async () => true,
  },
  commands: {
    registerCommand(id, handler) {
      if (state.commands.has(id)) throw new Error(`command '${id}' already exists`);
      state.commands.set(id, handler);
      return new Disposable(() => state.commands.delete(id));
    },
    async getCommands() {
      return [...state.commands.keys(), ...Object.keys(state.commandResults).filter((id) => !(state.commandResults[id] instanceof NotFound))];
    },
    async executeCommand(id, ...args) {
      state.executed.push([id, ...args]);
      const handler = state.commands.get(id);
      if (handler) return handler(...args);
      const r = state.commandResults[id];
      if (r instanceof Error) throw r;
      return r;
    },
  },
  extensions: { getExtension: (id) => (state.extensions.includes(id) ? { id } : undefined) },
};
Object.defineProperty(exported.workspace, "workspaceFolders", {
  get: () => state.workspaceFolders, set: (v) => { state.workspaceFolders = v; }, enumerable: true });
Object.defineProperty(exported.window, "activeTextEditor", {
  get: () => state.activeTextEditor, set: (v) => { state.activeTextEditor = v; }, enumerable: true });

/** vscode-languageclient/node's LanguageClient, recording its options and calls. */
class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, handlers: new Map(), requests: [],
      started: false, stopped: false });
    state.clients.push(this);
  }
  onRequest(method, handler) { this.handlers.set(method, handler); return new Disposable(() => this.handlers.delete(method)); }
  async start() { this.started = true; }
  async stop() { this.stopped = true; }
  async sendRequest(method, params) { this.requests.push([method, params]); return { via: "client", params }; }
}

const FAKES = {
  vscode: __filename,
  "vscode-languageclient/node": path.join(__dirname, "languageclient.js"),
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return FAKES[request] ?? resolve.call(this, request, ...rest);
};

/** A fake ExtensionContext: subscriptions, secrets in memory, global storage in `storage`. */
function context(storage) {
  const secrets = new Map();
  return {
    subscriptions: [],
    globalStorageUri: Uri.file(storage),
    secrets: {
      store: async (k, v) => { secrets.set(k, v); },
      get: async (k) => secrets.get(k),
      delete: async (k) => { secrets.delete(k); },
      held: secrets,
    },
  };
}

reset();
module.exports = Object.assign(exported, { fake: { state, reset, context, LanguageClient, NotFound } });
