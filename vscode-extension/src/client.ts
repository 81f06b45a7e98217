// The standalone route: the sidecar as VS Code's language server for Lean files (no Lean
// extension, or leanSidecar.route = standalone). The sidecar starts Lean itself.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import { initializationOptions, serverCommand, serverEnv } from "./config";
import type { Settings } from "./settings";

export class StandaloneClient {
  private client: LanguageClient | undefined;

  constructor(private readonly output: vscode.OutputChannel) {}

  get running(): LanguageClient | undefined {
    return this.client;
  }

  async start(settings: Settings, python: string | undefined, apiKey: string | undefined): Promise<void> {
    const { command, args } = serverCommand(settings, python);
    this.output.appendLine(`standalone: starting ${command} ${args.join(" ")}`);
    // No `transport`: with TransportKind.stdio the client appends `--stdio` to the command line,
    // which `lean-sidecar serve` does not take (stdio is its default).
    const serverOptions: ServerOptions = {
      command, args,
      options: { env: serverEnv(process.env, apiKey), cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file", language: "lean4" }, { scheme: "file", language: "lean" }],
      initializationOptions: initializationOptions(settings),
      synchronize: { configurationSection: "leanSidecar" },
      outputChannel: this.output,
    };
    this.client = new LanguageClient("leanSidecar", "lean-sidecar", serverOptions, clientOptions);
    this.client.onRequest("workspace/codeAction/refresh", () => null);
    await this.client.start();
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop();
  }
}
