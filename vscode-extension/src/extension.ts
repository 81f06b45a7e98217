import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from "vscode-languageclient/node";
import { chooseRoute, initializationOptions, lakeShim, Route, serverCommand, serverEnv, summarize } from "./config";

const SECRET = "leanSidecar.apiKey";
let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let route: Route = "standalone";

function settings(): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration("leanSidecar");
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(cfg)) {
    if (typeof cfg.get(key) !== "function") out[key] = cfg.get(key);
  }
  return out;
}

async function startStandalone(context: vscode.ExtensionContext): Promise<void> {
  const s = settings();
  const { command, args } = serverCommand(s);
  const apiKey = await context.secrets.get(SECRET);
  const serverOptions: ServerOptions = {
    command, args, transport: TransportKind.stdio,
    options: { env: serverEnv(process.env, apiKey), cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "lean4" }, { scheme: "file", language: "lean" }],
    initializationOptions: initializationOptions(s),
    synchronize: { configurationSection: "leanSidecar" },
    outputChannel: output,
  };
  client = new LanguageClient("leanSidecar", "lean-sidecar", serverOptions, clientOptions);
  client.onRequest("workspace/codeAction/refresh", () => null);
  await client.start();
}

/** The shim route: the Lean extension's own server command goes through the sidecar. */
async function offerShim(context: vscode.ExtensionContext): Promise<void> {
  const s = settings();
  const python = (s["pythonPath"] as string) || "python3";
  const dir = path.join(context.globalStorageUri.fsPath, "bin");
  fs.mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, "lake");
  fs.writeFileSync(shim, lakeShim(python, dir), { mode: 0o755 });
  const lean = vscode.workspace.getConfiguration("lean4");
  const extensions = lean.get<string[]>("envPathExtensions") ?? [];
  if (extensions.includes(dir)) return;
  const answer = await vscode.window.showInformationMessage(
    "lean-sidecar: route Lean's server through the sidecar? (one Lean process per file; the Lean extension keeps working)",
    "Route it", "Not now");
  if (answer !== "Route it") return;
  await lean.update("envPathExtensions", [dir, ...extensions], vscode.ConfigurationTarget.Global);
  await vscode.commands.executeCommand("lean4.restartServer").then(undefined, () => undefined);
}

async function serverCommandCall(command: string, arg: unknown): Promise<unknown> {
  if (client) {
    return client.sendRequest("workspace/executeCommand", { command, arguments: [arg] });
  }
  return vscode.commands.executeCommand(command, arg);  // registered by the Lean extension's client
}

async function withStatus<T>(label: string, work: () => Thenable<T>): Promise<T> {
  const previous = status.text;
  status.text = `$(sync~spin) lean-sidecar: ${label}`;
  try {
    return await work();
  } finally {
    status.text = previous;
  }
}

async function fillSorryAtCursor(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const uri = editor.document.uri;
  const version = editor.document.version;
  const position = editor.selection.active;
  const result = await withStatus("searching", () => serverCommandCall("leanSidecar.searchProof", {
    uri: uri.toString(), position: { line: position.line, character: position.character } }));
  output.appendLine(`search at ${position.line + 1}:${position.character + 1}: ${summarize(result)}`);
  if (editor.document.version !== version) {
    vscode.window.showWarningMessage("lean-sidecar: the file changed during the search; run it again.");
    return;
  }
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
    "vscode.executeCodeActionProvider", uri, new vscode.Range(position, position));
  const fill = (actions ?? []).find((a) => a.title.startsWith("Fill sorry"));
  if (fill?.edit) {
    await vscode.workspace.applyEdit(fill.edit);
  } else {
    vscode.window.showInformationMessage(`lean-sidecar: ${summarize(result)}`);
  }
}

async function checkEndpoint(): Promise<void> {
  try {
    const r = (await serverCommandCall("leanSidecar.checkEndpoint", {})) as
      { configured: boolean; endpoint?: string; models?: string[]; error?: string };
    if (!r.configured) {
      status.text = "$(beaker) lean-sidecar: tactics only";
      status.tooltip = "No prover endpoint configured (leanSidecar.endpoints): the symbolic cascade alone.";
    } else if (r.error) {
      status.text = "$(warning) lean-sidecar: endpoint down";
      status.tooltip = r.error;
    } else {
      status.text = `$(beaker) lean-sidecar: ${r.models?.[0] ?? "model"}`;
      status.tooltip = `Endpoint ${r.endpoint} is healthy`;
    }
  } catch (err) {
    status.text = "$(warning) lean-sidecar";
    status.tooltip = String(err);
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("lean-sidecar");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.text = "$(beaker) lean-sidecar";
  status.command = "leanSidecar.checkEndpointStatus";
  status.show();
  route = chooseRoute(settings()["route"], vscode.extensions.getExtension("leanprover.lean4") !== undefined);
  output.appendLine(`route: ${route}`);
  const reg = (id: string, f: (...a: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, f));
  reg("leanSidecar.fillSorryAtCursor", fillSorryAtCursor);
  reg("leanSidecar.fillAllSorries", async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const r = (await withStatus("filling", () => serverCommandCall("leanSidecar.fillAll",
      { uri: editor.document.uri.toString() }))) as { filled?: number; holes?: unknown[]; reason?: string };
    vscode.window.showInformationMessage(
      `lean-sidecar: filled ${r?.filled ?? 0} of ${r?.holes?.length ?? 0} sorries${r?.reason ? ` (${r.reason})` : ""}`);
  });
  reg("leanSidecar.cancelSearches", () => serverCommandCall("leanSidecar.cancelSearch", {}));
  reg("leanSidecar.showTrace", async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const p = editor.selection.active;
    const trace = await serverCommandCall("leanSidecar.trace",
      { uri: editor.document.uri.toString(), position: { line: p.line, character: p.character } });
    const doc = await vscode.workspace.openTextDocument({ language: "json", content: JSON.stringify(trace, null, 2) });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  });
  reg("leanSidecar.showLog", () => output.show());
  reg("leanSidecar.checkEndpointStatus", checkEndpoint);  // not the server's id: those are registered by the client
  reg("leanSidecar.setApiKey", async () => {
    const key = await vscode.window.showInputBox({ prompt: "API key of the prover endpoint", password: true });
    if (key === undefined) return;
    await context.secrets.store(SECRET, key);
    if (client) { await client.stop(); await startStandalone(context); }
    vscode.window.showInformationMessage("lean-sidecar: API key stored in VS Code's secret storage.");
  });
  reg("leanSidecar.routeLeanServer", () => offerShim(context));
  if (route === "standalone") {
    await startStandalone(context);
  } else {
    await offerShim(context);
  }
  setTimeout(checkEndpoint, 1000);
  const timer = setInterval(checkEndpoint, 60_000);
  context.subscriptions.push({ dispose: () => clearInterval(timer) });
}

export function deactivate(): Thenable<void> | undefined {
  return client?.stop();
}
