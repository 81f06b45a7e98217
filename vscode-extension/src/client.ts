// The standalone route: the sidecar as VS Code's language server for Lean files (no Lean
// extension, or leanSidecar.route = standalone). The sidecar starts Lean itself.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import type { ApiKey } from "./apiKey";
import { serverCommand, serverEnv, standaloneOptions } from "./config";
import type { Launch } from "./launch";
import { readSettings, Settings } from "./settings";

/** Runs the server's commands (the ids of server-commands.json). */
export interface ServerCommands {
  call(command: string, arg: unknown): Promise<unknown>;
}

/** A server command that nobody has registered yet: in the shim route the Lean extension's client
 * registers them once Lean's server (behind the sidecar) has started, i.e. when a Lean file is
 * open. "Starting", not a failure. */
export class ServerNotStarted extends Error {
  constructor(readonly command: string) {
    super(`the sidecar has not started yet (${command} is not registered)`);
  }
}

export class StandaloneClient implements ServerCommands, vscode.Disposable {
  private client: LanguageClient | undefined;
  /** Started once: a new API key restarts it. */
  private started = false;
  private readonly keyChanges: vscode.Disposable;

  constructor(private readonly output: vscode.OutputChannel, private readonly launch: Pick<Launch, "route" | "python">,
    apiKey: Pick<ApiKey, "onDidChange">) {
    this.keyChanges = apiKey.onDidChange((key) => this.restart(key));
  }

  get running(): LanguageClient | undefined {
    return this.client;
  }

  /** Through this client while it runs; otherwise (the shim route) through the Lean extension's
   * client, which registered the server's commands. */
  async call(command: string, arg: unknown): Promise<unknown> {
    const c = this.client;
    if (c) return c.sendRequest("workspace/executeCommand", { command, arguments: [arg] });
    try {
      return await vscode.commands.executeCommand(command, arg);
    } catch (err) {
      if (!(await vscode.commands.getCommands(true)).includes(command)) throw new ServerNotStarted(command);
      throw err;
    }
  }

  /** Start the sidecar, in the standalone route only (the shim route starts nothing here). */
  async start(settings: Settings, apiKey: string | undefined): Promise<void> {
    if (this.launch.route !== "standalone") return;
    this.started = true;
    const { command, args } = serverCommand(settings, this.launch.python);
    this.output.appendLine(`standalone: starting ${command} ${args.join(" ")}`);
    // No `transport`: with TransportKind.stdio the client appends `--stdio` to the command line,
    // which `lean-sidecar serve` does not take (stdio is its default).
    const serverOptions: ServerOptions = {
      command, args,
      options: { env: serverEnv(process.env, apiKey), cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file", language: "lean4" }, { scheme: "file", language: "lean" }],
      initializationOptions: standaloneOptions(settings),
      synchronize: { configurationSection: "leanSidecar" },
      outputChannel: this.output,
    };
    this.client = new LanguageClient("leanSidecar", "lean-sidecar", serverOptions, clientOptions);
    this.client.onRequest("workspace/codeAction/refresh", () => null);
    await this.client.start();
  }

  /** A new key reaches the sidecar through its environment: start it again, with the settings
   * of now. */
  private async restart(apiKey: string | undefined): Promise<void> {
    if (!this.started) return;
    await this.stop();
    await this.start(readSettings(), apiKey);
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop();
  }

  /** Stop the server. Asynchronous: deactivate() awaits it (VS Code does not await dispose); a
   * second call does nothing. */
  async dispose(): Promise<void> {
    this.keyChanges.dispose();
    await this.stop();
  }
}
