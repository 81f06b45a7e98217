// The endpoint's health in the status bar: checked shortly after start, then every minute, and on
// the command "Check endpoint" (a click on the status bar item). While the server's command is not
// registered yet (the shim route: the Lean extension's client registers it once Lean's server has
// started behind the sidecar) the status bar says "starting", and the check is tried again soon.
import * as vscode from "vscode";
import { ServerCommands, ServerNotStarted } from "./client";
import { SERVER } from "./serverCommands";
import type { EndpointStatus, StatusBar } from "./statusBar";

export class EndpointCheck implements vscode.Disposable {
  private first: NodeJS.Timeout | undefined;
  private every: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private retries = 0;
  private stopped = false;

  /** `retryMs`: how soon a check is tried again while the server has not started, at most
   * `maxRetries` times in a row (about 2 minutes); then the regular interval goes on alone. */
  constructor(private readonly status: Pick<StatusBar, "endpoint" | "starting">, private readonly server: ServerCommands,
    private readonly retryMs = 3000, private readonly maxRetries = 40) {}

  /** Ask the server (which asks the endpoint) and show the answer, or the error. */
  async check(): Promise<void> {
    clearTimeout(this.soon);
    this.soon = undefined;
    try {
      const answer = (await this.server.call(SERVER.checkEndpoint, {})) as EndpointStatus;
      this.retries = 0;
      this.status.endpoint(answer);
    } catch (err) {
      if (err instanceof ServerNotStarted) {
        this.status.starting();
        if (!this.stopped && this.retries < this.maxRetries) {
          this.retries++;
          this.soon = setTimeout(() => void this.check(), this.retryMs);
        }
        return;
      }
      this.status.endpoint(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Check after `firstMs` (the server has started by then, or is starting), then every
   * `everyMs`, until disposed. */
  watch(firstMs = 1000, everyMs = 60_000): void {
    this.dispose();
    this.stopped = false;
    this.retries = 0;
    this.first = setTimeout(() => void this.check(), firstMs);
    this.every = setInterval(() => void this.check(), everyMs);
  }

  dispose(): void {
    this.stopped = true;
    clearTimeout(this.first);
    clearInterval(this.every);
    clearTimeout(this.soon);
    this.first = this.every = this.soon = undefined;
  }
}
