// The shim route: a `lake` first on the Lean extension's PATH (lean4.envPathExtensions) that
// starts `lean-sidecar serve --upstream "<real lake> serve ..."`. The Lean extension keeps its
// own client, infoview and commands; the sidecar sits between it and Lean.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import type { ApiKey } from "./apiKey";
import { lakeShim, SIDECAR_LOG } from "./config";
import type { Launch } from "./launch";

export class ShimRoute implements vscode.Disposable {
  /** The shim's folder, in the extension's storage. */
  readonly dir: string;
  /** The sidecar's log file in this route, beside the shim's folder ("Show log" opens it). */
  readonly log: string;
  private readonly keyChanges: vscode.Disposable;

  constructor(private readonly storage: vscode.Uri, private readonly output: vscode.OutputChannel,
    private readonly launch: Pick<Launch, "route" | "python" | "cannotRun">,
    private readonly apiKey: Pick<ApiKey, "socket" | "onDidChange">) {
    this.dir = path.join(storage.fsPath, "bin");
    this.log = vscode.Uri.joinPath(storage, SIDECAR_LOG).fsPath;
    this.removeLegacyKeyFile();
    this.keyChanges = apiKey.onDidChange(() => this.keyChanged());
  }

  /** On activation, in the shim route only: write the shim and offer to route Lean's server
   * through it (not awaited: the question waits for the user). */
  async start(): Promise<void> {
    if (this.launch.route !== "shim" || !this.launch.python) return;
    this.write(this.launch.python, await this.apiKey.socket());
    void this.route(true);
  }

  /** The command "Route Lean's server through lean-sidecar" (any route): without asking. */
  async routeLeanServer(): Promise<void> {
    if (this.launch.cannotRun() || !this.launch.python) return;
    this.write(this.launch.python, await this.apiKey.socket());
    await this.route(false);
  }

  /** Write the shim for this interpreter (absolute, checked beforehand by the caller); the shim
   * asks `keySocket` (the API key's socket, when there is one) for the API key. */
  write(python: string, keySocket: string | undefined): string {
    fs.mkdirSync(this.dir, { recursive: true });
    const shim = path.join(this.dir, "lake");
    fs.writeFileSync(shim, lakeShim(python, this.dir, keySocket), { mode: 0o755 });
    fs.chmodSync(shim, 0o755);
    this.output.appendLine(`shim: ${shim} (interpreter ${python}, key socket ${keySocket ?? "none"})`);
    return shim;
  }

  /** Earlier versions kept the API key in a file here; secrets never stay in files we wrote. */
  private removeLegacyKeyFile(): void {
    const legacy = path.join(this.storage.fsPath, "endpoint-key");
    try {
      if (fs.existsSync(legacy)) {
        fs.rmSync(legacy, { force: true });
        this.output.appendLine("removed the API key file of an earlier version (the key stays in secret storage)");
      }
    } catch (err) {
      this.output.appendLine(`could not remove ${legacy}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Is the shim's folder on the Lean extension's PATH (its setting lean4.envPathExtensions)? */
  installed(): boolean {
    return leanPaths(vscode.workspace.getConfiguration("lean4")).includes(this.dir);
  }

  /** Put the shim's folder first in lean4.envPathExtensions (asks first unless `ask` is false),
   * then restart Lean's server so that it goes through the sidecar. */
  async route(ask: boolean): Promise<boolean> {
    const lean = vscode.workspace.getConfiguration("lean4");
    const extensions = leanPaths(lean);
    if (extensions.includes(this.dir)) return true;
    if (ask) {
      const answer = await vscode.window.showInformationMessage(
        "lean-sidecar: route Lean's server through the sidecar? (one Lean process per file; the Lean extension keeps working)",
        "Route it", "Not now");
      if (answer !== "Route it") return false;
    }
    await lean.update("envPathExtensions", [this.dir, ...extensions], vscode.ConfigurationTarget.Global);
    await restartLean();
    return true;
  }

  /** The socket serves the new key already; Lean's server must restart for the shim to ask. */
  private async keyChanged(): Promise<void> {
    if (this.launch.route === "shim" && this.installed()) await restartLean();
  }

  dispose(): void {
    this.keyChanges.dispose();
  }
}

/** The Lean extension's extra PATH folders: its setting, not ours, so not in settings.ts. */
function leanPaths(lean: vscode.WorkspaceConfiguration): string[] {
  return lean.get<string[]>("envPathExtensions") ?? [];
}

export async function restartLean(): Promise<void> {
  await vscode.commands.executeCommand("lean4.restartServer").then(undefined, () => undefined);
}
