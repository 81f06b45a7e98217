// The shim route: a `lake` first on the Lean extension's PATH (lean4.envPathExtensions) that
// starts `lean-sidecar serve --upstream "<real lake> serve ..."`. The Lean extension keeps its
// own client, infoview and commands; the sidecar sits between it and Lean.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { lakeShim } from "./config";

export class Shim {
  readonly dir: string;
  readonly keyFile: string;

  constructor(private readonly context: vscode.ExtensionContext, private readonly output: vscode.OutputChannel) {
    this.dir = path.join(context.globalStorageUri.fsPath, "bin");
    this.keyFile = path.join(context.globalStorageUri.fsPath, "endpoint-key");
  }

  /** Write the shim for this interpreter (absolute, checked beforehand by the caller). */
  write(python: string): string {
    fs.mkdirSync(this.dir, { recursive: true });
    const shim = path.join(this.dir, "lake");
    fs.writeFileSync(shim, lakeShim(python, this.dir, this.keyFile), { mode: 0o755 });
    fs.chmodSync(shim, 0o755);
    this.output.appendLine(`shim: ${shim} (interpreter ${python})`);
    return shim;
  }

  /** The API key for the shim's sidecar: a file only this user can read (0600), removed when the
   * key is cleared. Never on a command line, never in settings. */
  storeKey(key: string | undefined): void {
    fs.mkdirSync(path.dirname(this.keyFile), { recursive: true });
    if (!key) {
      fs.rmSync(this.keyFile, { force: true });
      return;
    }
    const tmp = `${this.keyFile}.${process.pid}`;
    fs.writeFileSync(tmp, key, { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, this.keyFile);
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
