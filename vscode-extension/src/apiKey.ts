// The endpoint API key: kept in VS Code's SecretStorage, bound to the endpoint origin it was set
// for (keyScope.ts), handed to the shim's sidecar over a private socket (keyChannel.ts). Whoever
// runs a sidecar subscribes to changes to restart it with the new key.
import * as vscode from "vscode";
import { KeyChannel, removeStale } from "./keyChannel";
import { keyFor, storeKey } from "./keyScope";
import { readSettings } from "./settings";

/** The SecretStorage entry (JSON of the key and its origin, see keyScope.ts). */
export const SECRET = "leanSidecar.apiKey";

/** Told the new key (undefined: removed) once it is stored; awaited, in subscription order. */
export type KeyListener = (key: string | undefined) => Promise<void>;

export class ApiKey implements vscode.Disposable {
  private toldWithheld = false;
  private channel: KeyChannel | undefined;
  private opening: Promise<string | undefined> | undefined;
  private disposed = false;
  private readonly listeners = new Set<KeyListener>();

  constructor(private readonly secrets: vscode.SecretStorage, private readonly output: vscode.OutputChannel) {}

  /** The key for the endpoints configured now: only the origin it was saved for gets it. A
   * withheld key is logged each time and shown once. */
  async current(): Promise<string | undefined> {
    const { key, withheld } = keyFor(await this.secrets.get(SECRET), readSettings().endpoints);
    if (withheld) {
      this.output.appendLine(`lean-sidecar: ${withheld}`);
      if (!this.toldWithheld) {
        this.toldWithheld = true;
        vscode.window.showWarningMessage(`lean-sidecar: ${withheld}`);
      }
    }
    return key;
  }

  /** The socket the shim asks for the key, opened on the first call (the first shim written);
   * undefined if it cannot be opened: the sidecar then starts without a key. */
  socket(): Promise<string | undefined> {
    this.opening ??= (async () => {
      try {
        for (const dir of await removeStale()) this.output.appendLine(`removed the stale key socket folder ${dir}`);
        const channel = await KeyChannel.open(await this.current());
        if (this.disposed) {
          await channel.close();  // deactivated meanwhile: leave nothing behind
          return undefined;
        }
        this.channel = channel;
        this.output.appendLine(`API key socket: ${channel.socketPath}`);
      } catch (err) {
        this.output.appendLine(
          `the sidecar behind the shim gets no API key: ${err instanceof Error ? err.message : String(err)}`);
      }
      return this.channel?.socketPath;
    })();
    return this.opening;
  }

  /** Store the key for the endpoint configured now ("" removes it), serve it on the socket at
   * once, then tell the listeners (which restart their sidecar). A key with no single endpoint
   * origin to bind to is refused with an error message. */
  async set(key: string): Promise<void> {
    if (key) {
      const { stored, error } = storeKey(key, readSettings().endpoints);
      if (!stored) {
        vscode.window.showErrorMessage(`lean-sidecar: ${error}`);
        return;
      }
      await this.secrets.store(SECRET, stored);
    } else await this.secrets.delete(SECRET);
    this.channel?.setKey(key || undefined);  // served at once to the next sidecar started
    for (const listener of [...this.listeners]) await listener(key || undefined);
  }

  onDidChange(listener: KeyListener): vscode.Disposable {
    this.listeners.add(listener);
    return new vscode.Disposable(() => this.listeners.delete(listener));
  }

  /** Close the socket and remove its folder. Asynchronous: deactivate() awaits it (VS Code does
   * not await dispose); a second call does nothing. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.listeners.clear();
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close();
  }
}
