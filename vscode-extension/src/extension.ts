// Wiring only: pick the route, find the interpreter, start the client or install the shim,
// register the commands and the status bar. The work lives in the modules imported here.
import * as vscode from "vscode";
import { StandaloneClient } from "./client";
import { checkEndpoint, CommandDeps, registerCommands } from "./commands";
import { chooseRoute, Settings } from "./config";
import { findInterpreter } from "./interpreter";
import { restartLean, Shim } from "./shim";
import { StatusBar } from "./statusBar";

const SECRET = "leanSidecar.apiKey";
let standalone: StandaloneClient | undefined;

function settings(): Settings {
  const cfg = vscode.workspace.getConfiguration("leanSidecar");
  const out: Settings = {};
  for (const key of Object.keys(cfg)) {
    const value = cfg.get(key);
    if (typeof value !== "function") out[key] = value;
  }
  return out;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const status = new StatusBar("leanSidecar.checkEndpointStatus");
  context.subscriptions.push(output, status);
  const s = settings();
  const route = chooseRoute(s["route"], vscode.extensions.getExtension("leanprover.lean4") !== undefined);
  output.appendLine(`route: ${route}`);
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const found = Array.isArray(s["serverCommand"]) && (s["serverCommand"] as unknown[]).length > 0 && route === "standalone"
    ? { python: undefined, tried: [] }
    : await findInterpreter(s["pythonPath"], folders);
  output.appendLine(`PATH: ${process.env.PATH ?? ""}`);
  for (const t of found.tried) output.appendLine(`interpreter ${t.python}: ${t.detail}`);
  if (found.python) output.appendLine(`interpreter: ${found.python}`);
  const shim = new Shim(context, output);
  const apiKey = await context.secrets.get(SECRET);
  if (route === "shim") shim.storeKey(apiKey);

  const cannotRun = (): boolean => {
    if (found.python || route === "standalone" && Array.isArray(s["serverCommand"]) && (s["serverCommand"] as unknown[]).length) {
      return false;
    }
    const why = "lean-sidecar: no Python with lean-sidecar installed was found (tried: "
      + (found.tried.map((t) => `${t.python}: ${t.detail}`).join("; ") || "`lean-sidecar` on PATH, .venv of the workspace, pipx")
      + "). Install it (`pipx install <checkout>` or `pip install <checkout>`) or set leanSidecar.pythonPath.";
    output.appendLine(why);
    status.problem("not installed", why);
    vscode.window.showErrorMessage(why, "Show log").then((a) => a && output.show());
    return true;
  };

  const deps: CommandDeps = {
    output, status,
    call: async (command, arg) => {
      const c = standalone?.running;
      if (c) return c.sendRequest("workspace/executeCommand", { command, arguments: [arg] });
      return vscode.commands.executeCommand(command, arg);  // registered by the Lean extension's client
    },
    setApiKey: async (key) => {
      if (key) await context.secrets.store(SECRET, key);
      else await context.secrets.delete(SECRET);
      if (route === "shim") {
        shim.storeKey(key);
        if (shim.installed()) await restartLean();
      } else if (standalone) {
        await standalone.stop();
        await standalone.start(settings(), found.python, key || undefined);
      }
    },
    routeLeanServer: async () => {
      if (cannotRun() || !found.python) return;
      shim.write(found.python);
      await shim.route(false);
    },
  };
  registerCommands(context, deps);

  if (cannotRun()) return;
  if (route === "standalone") {
    standalone = new StandaloneClient(output);
    await standalone.start(s, found.python, apiKey);
  } else {
    shim.write(found.python as string);
    void shim.route(true);
  }
  setTimeout(() => void checkEndpoint(deps), 1000);
  const timer = setInterval(() => void checkEndpoint(deps), 60_000);
  context.subscriptions.push({ dispose: () => clearInterval(timer) });
}

export function deactivate(): Thenable<void> | undefined {
  return standalone?.stop();
}
