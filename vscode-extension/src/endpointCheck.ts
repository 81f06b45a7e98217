// The endpoint's health in the status bar: checked shortly after start, then every minute, and on
// the command "Check endpoint" (a click on the status bar item).
import * as vscode from "vscode";
import type { ServerCommands } from "./client";
import { SERVER } from "./serverCommands";
import type { EndpointStatus, StatusBar } from "./statusBar";

export class EndpointCheck implements vscode.Disposable {
  private first: NodeJS.Timeout | undefined;
  private every: NodeJS.Timeout | undefined;

  constructor(private readonly status: Pick<StatusBar, "endpoint">, private readonly server: ServerCommands) {}

  /** Ask the server (which asks the endpoint) and show the answer, or the error. */
  async check(): Promise<void> {
    try {
      this.status.endpoint((await this.server.call(SERVER.checkEndpoint, {})) as EndpointStatus);
    } catch (err) {
      this.status.endpoint(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Check after `firstMs` (the server has started by then), then every `everyMs`, until disposed. */
  watch(firstMs = 1000, everyMs = 60_000): void {
    this.dispose();
    this.first = setTimeout(() => void this.check(), firstMs);
    this.every = setInterval(() => void this.check(), everyMs);
  }

  dispose(): void {
    clearTimeout(this.first);
    clearInterval(this.every);
    this.first = this.every = undefined;
  }
}
