// The shim route: a `lake` first on the Lean extension's PATH (lean4.envPathExtensions) that
// starts `lean-sidecar serve --upstream "<real lake> serve ..."`. The Lean extension keeps its
// own client, infoview and commands; the sidecar sits between it and Lean.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { lakeShim } from "./config";

export class Shim {
  readonly dir: string;

  constructor(private readonly context: vscode.ExtensionContext, private readonly output: vscode.OutputChannel) {
    this.dir = path.join(context.globalStorageUri.fsPath, "bin");
  }

  /** Write the shim for this interpreter (absolute, checked beforehand by the caller); the shim
   * asks `keySocket` (a KeyChannel's socket, when there is one) for the API key. */
  write(python: string, keySocket: string | undefined): string {
    fs.mkdirSync(this.dir, { recursive: true });
    const shim = path.join(this.dir, "lake");
    fs.writeFileSync(shim, lakeShim(python, this.dir, keySocket), { mode: 0o755 });
    fs.chmodSync(shim, 0o755);
    this.output.appendLine(`shim: ${shim} (interpreter ${python}, key socket ${keySocket ?? "none"})`);
    return shim;
  }

  /** Earlier versions kept the API key in a file here; secrets never stay in files we wrote. */
  removeLegacyKeyFile(): void {
    const legacy = path.join(this.context.globalStorageUri.fsPath, "endpoint-key");
    try {
      if (fs.existsSync(legacy)) {
        fs.rmSync(legacy, { force: true });
        this.output.appendLine("removed the API key file of an earlier version (the key stays in secret storage)");
      }
    } catch (err) {
      this.output.appendLine(`could not remove ${legacy}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  installed(): boolean {
    const lean = vscode.workspace.getConfiguration("lean4");
    return (lean.get<string[]>("envPathExtensions") ?? []).includes(this.dir);
  }

  /** Put the shim's folder first in lean4.envPathExtensions (asks first unless `ask` is false),
   * then restart Lean's server so that it goes through the sidecar. */
  async route(ask: boolean): Promise<boolean> {
    const lean = vscode.workspace.getConfiguration("lean4");
    const extensions = lean.get<string[]>("envPathExtensions") ?? [];
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
}

export async function restartLean(): Promise<void> {
  await vscode.commands.executeCommand("lean4.restartServer").then(undefined, () => undefined);
}
