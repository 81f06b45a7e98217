// The command "Run doctor": `lean-sidecar doctor` with the interpreter found, in the project of
// the file at hand, its output in its own output channel.
import { spawn } from "child_process";
import * as vscode from "vscode";
import type { ApiKey } from "./apiKey";
import { doctorCommand, serverEnv } from "./config";
import type { Launch } from "./launch";
import { readSettings } from "./settings";

export class Doctor implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel("lean-sidecar doctor");

  constructor(private readonly launch: Pick<Launch, "python" | "folders" | "cannotRun">,
    private readonly apiKey: Pick<ApiKey, "current">) {}

  async run(): Promise<void> {
    if (this.launch.cannotRun()) return;
    const python = this.launch.python;
    if (!python) {
      vscode.window.showWarningMessage("lean-sidecar: Run doctor needs a Python with lean-sidecar"
        + " (leanSidecar.pythonPath); with leanSidecar.serverCommand, run `lean-sidecar doctor` in a terminal.");
      return;
    }
    const editor = vscode.window.activeTextEditor;
    const project = editor?.document.uri.scheme === "file"
      ? vscode.workspace.getWorkspaceFolder(editor.document.uri)?.uri.fsPath
      : undefined;
    const folder = project ?? this.launch.folders[0];
    const { command, args } = doctorCommand(python, readSettings(), folder);
    // The key goes in the environment (the doctor checks the endpoint with it), never in args.
    const env = serverEnv(process.env, await this.apiKey.current());
    await runInOutput(this.channel, command, args, folder, env);
  }

  dispose(): void {
    this.channel.dispose();
  }
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
