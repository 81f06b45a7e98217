// The extension's own commands (contributes.commands). They reach the server through its
// registered command ids (server-commands.json): via our client in the standalone route, via the
// Lean extension's client (which registers the server's executeCommandProvider ids) in the shim route.
import * as vscode from "vscode";
import type { ApiKey } from "./apiKey";
import type { ServerCommands } from "./client";
import { SEARCH_WITH_NOTIFICATION, summarize } from "./config";
import type { Doctor } from "./doctor";
import type { EndpointCheck } from "./endpointCheck";
import { inNotification, SearchArg, searchProof, where } from "./search";
import { SERVER } from "./serverCommands";
import type { ShimRoute } from "./shim";

/** What the commands act on: the other features (only the parts used, so tests pass fakes). */
export interface CommandDeps {
  output: vscode.OutputChannel;
  /** Calls a server command (route-dependent). */
  server: ServerCommands;
  endpoint: Pick<EndpointCheck, "check">;
  /** Stores (or clears) the API key and passes it to the running sidecar. */
  apiKey: Pick<ApiKey, "set">;
  /** "Route Lean's server", and the sidecar's own log file in the shim route (the Lean extension
   * shows every byte on stderr as an error, so there the sidecar logs to this file instead). */
  shim: Pick<ShimRoute, "routeLeanServer" | "log">;
  /** `lean-sidecar doctor` with the interpreter found, in an output channel. */
  doctor: Pick<Doctor, "run">;
}

async function showLog(deps: CommandDeps): Promise<void> {
  deps.output.show();
  const file = vscode.Uri.file(deps.shim.log);
  try {
    await vscode.workspace.fs.stat(file);
  } catch {
    return;  // no sidecar started through the shim yet
  }
  const doc = await vscode.workspace.openTextDocument(file);
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

async function fillSorryAtCursor(deps: CommandDeps): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const uri = editor.document.uri;
  const version = editor.document.version;
  const position = editor.selection.active;
  const result = await searchProof(deps.server, deps.output,
    { uri: uri.toString(), position: { line: position.line, character: position.character } });
  const found = (result as { found?: unknown[] } | undefined)?.found ?? [];
  if (found.length === 0) return;  // cancelled, failed or no proof: already told (by the server)
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

async function fillAll(deps: CommandDeps): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const arg: SearchArg = { uri: editor.document.uri.toString() };
  const r = (await inNotification(deps.server, `lean-sidecar: filling every sorry (${where(arg)})`, arg,
    () => deps.server.call(SERVER.fillAll, arg))) as
    { status?: string; filled?: number; holes?: unknown[]; reason?: string } | undefined;
  if (!r || r.status === "cancelled") return;
  vscode.window.showInformationMessage(
    `lean-sidecar: filled ${r.filled ?? 0} of ${r.holes?.length ?? 0} sorries${r.reason ? ` (${r.reason})` : ""}`);
}

async function showTrace(deps: CommandDeps): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const p = editor.selection.active;
  const trace = await deps.server.call(SERVER.trace,
    { uri: editor.document.uri.toString(), position: { line: p.line, character: p.character } });
  const doc = await vscode.workspace.openTextDocument({ language: "json", content: JSON.stringify(trace, null, 2) });
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

async function setApiKey(deps: CommandDeps): Promise<void> {
  const key = await vscode.window.showInputBox({
    prompt: "API key of the prover endpoint (empty: remove it)", password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  await deps.apiKey.set(key);
  vscode.window.showInformationMessage(key
    ? "lean-sidecar: API key stored in VS Code's secret storage."
    : "lean-sidecar: API key removed.");
}

/** Every contributed command, registered while this lives; none shares an id with a server
 * command (the language client registers those, and a collision fails its start). */
export class Commands implements vscode.Disposable {
  private readonly registered: vscode.Disposable[] = [];

  constructor(deps: CommandDeps) {
    const reg = (id: string, f: (...args: never[]) => unknown) =>
      this.registered.push(vscode.commands.registerCommand(id, f));
    // What the server's "Search proof for this sorry" action runs (its editorSearchCommand).
    reg(SEARCH_WITH_NOTIFICATION, (arg: SearchArg) => searchProof(deps.server, deps.output, arg));
    reg("leanSidecar.fillSorryAtCursor", () => fillSorryAtCursor(deps));
    reg("leanSidecar.fillAllSorries", () => fillAll(deps));
    reg("leanSidecar.cancelSearches", () => deps.server.call(SERVER.cancelSearch, {}));
    reg("leanSidecar.showTrace", () => showTrace(deps));
    reg("leanSidecar.showLog", () => showLog(deps));
    reg("leanSidecar.checkEndpointStatus", () => deps.endpoint.check());
    reg("leanSidecar.setApiKey", () => setApiKey(deps));
    reg("leanSidecar.routeLeanServer", () => deps.shim.routeLeanServer());
    reg("leanSidecar.runDoctor", () => deps.doctor.run());
  }

  dispose(): void {
    for (const d of this.registered.splice(0)) d.dispose();
  }
}
