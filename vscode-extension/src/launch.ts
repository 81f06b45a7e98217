// How this window starts the sidecar: the route and the interpreter, found once on activation and
// shared by the features that start it (the standalone client, the shim, Run doctor).
import * as vscode from "vscode";
import { chooseRoute, Route } from "./config";
import { findInterpreter, Found } from "./interpreter";
import type { Settings } from "./settings";
import type { StatusBar } from "./statusBar";

export class Launch {
  private constructor(
    readonly route: Route,
    private readonly found: Found,
    /** The workspace folders on activation (Run doctor's project when no file is open). */
    readonly folders: readonly string[],
    /** leanSidecar.serverCommand starts the sidecar in the standalone route: no interpreter needed. */
    private readonly ownCommand: boolean,
    private readonly output: vscode.OutputChannel,
    private readonly status: Pick<StatusBar, "problem">,
  ) {}

  /** Pick the route and look for the interpreter (it can take a while: each candidate is run),
   * logging what was tried. */
  static async find(settings: Settings, output: vscode.OutputChannel, status: Pick<StatusBar, "problem">):
    Promise<Launch> {
    const route = chooseRoute(settings.route, vscode.extensions.getExtension("leanprover.lean4") !== undefined);
    output.appendLine(`route: ${route}`);
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const command = settings.serverCommand;
    const ownCommand = route === "standalone" && Array.isArray(command) && command.length > 0;
    const found = ownCommand ? { python: undefined, tried: [] } : await findInterpreter(settings.pythonPath, folders);
    output.appendLine(`PATH: ${process.env.PATH ?? ""}`);
    for (const t of found.tried) output.appendLine(`interpreter ${t.python}: ${t.detail}`);
    if (found.python) output.appendLine(`interpreter: ${found.python}`);
    return new Launch(route, found, folders, ownCommand, output, status);
  }

  /** The absolute interpreter that imports lean_sidecar, if one was found. */
  get python(): string | undefined {
    return this.found.python;
  }

  /** True when the sidecar cannot be started, after saying why (log, status bar, error message):
   * on activation and on every command that would start it. */
  cannotRun(): boolean {
    if (this.found.python || this.ownCommand) return false;
    const why = "lean-sidecar: no Python with lean-sidecar installed was found (tried: "
      + (this.found.tried.map((t) => `${t.python}: ${t.detail}`).join("; ")
        || "`lean-sidecar` on PATH, .venv of the workspace, pipx")
      + "). Install it (`pipx install <checkout>` or `pip install <checkout>`) or set leanSidecar.pythonPath.";
    this.output.appendLine(why);
    this.status.problem("not installed", why);
    vscode.window.showErrorMessage(why, "Show log").then((a) => a && this.output.show());
    return true;
  }
}
