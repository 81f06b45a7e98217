// Wiring only: pick the route, find the interpreter, start the client or install the shim,
// register the commands and the status bar. The work lives in the modules imported here.
import { spawn } from "child_process";
import * as vscode from "vscode";
import { StandaloneClient } from "./client";
import { checkEndpoint, CommandDeps, registerCommands } from "./commands";
import { chooseRoute, doctorCommand, serverEnv, SIDECAR_LOG } from "./config";
import { findInterpreter } from "./interpreter";
import { KeyChannel, removeStale } from "./keyChannel";
import { keyFor, storeKey } from "./keyScope";
import { readSettings as settings } from "./settings";
import { restartLean, Shim } from "./shim";
import { StatusBar } from "./statusBar";

const SECRET = "leanSidecar.apiKey";
let standalone: StandaloneClient | undefined;
let keyChannel: KeyChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const status = new StatusBar("leanSidecar.checkEndpointStatus");
  context.subscriptions.push(output, status);
  const s = settings();
  const route = chooseRoute(s.route, vscode.extensions.getExtension("leanprover.lean4") !== undefined);
  output.appendLine(`route: ${route}`);
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const found = Array.isArray(s.serverCommand) && s.serverCommand.length > 0 && route === "standalone"
    ? { python: undefined, tried: [] }
    : await findInterpreter(s.pythonPath, folders);
  output.appendLine(`PATH: ${process.env.PATH ?? ""}`);
  for (const t of found.tried) output.appendLine(`interpreter ${t.python}: ${t.detail}`);
  if (found.python) output.appendLine(`interpreter: ${found.python}`);
  const shim = new Shim(context, output);
  shim.removeLegacyKeyFile();
  /** The key for the endpoints configured now: only the origin it was saved for gets it. */
  let toldWithheld = false;
  const scopedKey = async (): Promise<string | undefined> => {
    const { key, withheld } = keyFor(await context.secrets.get(SECRET), settings().endpoints);
    if (withheld) {
      output.appendLine(`lean-sidecar: ${withheld}`);
      if (!toldWithheld) {
        toldWithheld = true;
        vscode.window.showWarningMessage(`lean-sidecar: ${withheld}`);
      }
    }
    return key;
  };
  const apiKey = await scopedKey();
  /** The key channel the shim asks for the API key (opened once, on the first shim written). */
  let opening: Promise<string | undefined> | undefined;
  const openKeyChannel = (): Promise<string | undefined> => {
    opening ??= (async () => {
      try {
        for (const dir of await removeStale()) output.appendLine(`removed the stale key socket folder ${dir}`);
        keyChannel = await KeyChannel.open(await scopedKey());
        output.appendLine(`API key socket: ${keyChannel.socketPath}`);
      } catch (err) {
        output.appendLine(`the sidecar behind the shim gets no API key: ${err instanceof Error ? err.message : String(err)}`);
      }
      return keyChannel?.socketPath;
    })();
    return opening;
  };
  const doctorOutput = vscode.window.createOutputChannel("lean-sidecar doctor");
  context.subscriptions.push(doctorOutput);

  const cannotRun = (): boolean => {
    if (found.python || route === "standalone" && Array.isArray(s.serverCommand) && s.serverCommand.length) {
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
    sidecarLog: vscode.Uri.joinPath(context.globalStorageUri, SIDECAR_LOG).fsPath,
    call: async (command, arg) => {
      const c = standalone?.running;
      if (c) return c.sendRequest("workspace/executeCommand", { command, arguments: [arg] });
      return vscode.commands.executeCommand(command, arg);  // registered by the Lean extension's client
    },
    setApiKey: async (key) => {
      if (key) {
        const { stored, error } = storeKey(key, settings().endpoints);
        if (!stored) {
          vscode.window.showErrorMessage(`lean-sidecar: ${error}`);
          return;
        }
        await context.secrets.store(SECRET, stored);
      } else await context.secrets.delete(SECRET);
      keyChannel?.setKey(key || undefined);  // served at once to the next sidecar started
      if (route === "shim") {
        if (shim.installed()) await restartLean();
      } else if (standalone) {
        await standalone.stop();
        await standalone.start(settings(), found.python, key || undefined);
      }
    },
    routeLeanServer: async () => {
      if (cannotRun() || !found.python) return;
      shim.write(found.python, await openKeyChannel());
      await shim.route(false);
    },
    runDoctor: async () => {
      if (cannotRun()) return;
      if (!found.python) {
        vscode.window.showWarningMessage("lean-sidecar: Run doctor needs a Python with lean-sidecar"
          + " (leanSidecar.pythonPath); with leanSidecar.serverCommand, run `lean-sidecar doctor` in a terminal.");
        return;
      }
      const project = vscode.window.activeTextEditor?.document.uri.scheme === "file"
        ? vscode.workspace.getWorkspaceFolder(vscode.window.activeTextEditor.document.uri)?.uri.fsPath
        : undefined;
      const folder = project ?? folders[0];
      const { command, args } = doctorCommand(found.python, settings(), folder);
      const env = serverEnv(process.env, await scopedKey());
      await runInOutput(doctorOutput, command, args, folder, env);
    },
  };
  registerCommands(context, deps);

  if (cannotRun()) return;
  if (route === "standalone") {
    standalone = new StandaloneClient(output);
    await standalone.start(s, found.python, apiKey);
  } else {
    shim.write(found.python as string, await openKeyChannel());
    void shim.route(true);
  }
  setTimeout(() => void checkEndpoint(deps), 1000);
  const timer = setInterval(() => void checkEndpoint(deps), 60_000);
  context.subscriptions.push({ dispose: () => clearInterval(timer) });
}

export async function deactivate(): Promise<void> {
  const channel = keyChannel;
  keyChannel = undefined;
  await Promise.all([standalone?.stop(), channel?.close()]);
}

/** Run a command, its output (stdout and stderr as they come) in `channel`, shown. */
function runInOutput(channel: vscode.OutputChannel, command: string, args: string[], cwd: string | undefined,
  env: NodeJS.ProcessEnv): Promise<void> {
  channel.clear();
  channel.show(true);
  channel.appendLine(`$ lean-sidecar doctor (${command}${cwd ? `, in ${cwd}` : ""})`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d: Buffer) => channel.append(d.toString()));
    child.stderr.on("data", (d: Buffer) => channel.append(d.toString()));
    child.on("error", (err) => { channel.appendLine(`could not run it: ${err.message}`); resolve(); });
    child.on("close", (code) => {
      channel.appendLine(code === 0 ? "doctor: all good" : `doctor exited with ${code}: fix the FAIL lines above`);
      resolve();
    });
  });
}
