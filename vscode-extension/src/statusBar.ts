// The status bar item: the endpoint's health (a running search shows as a notification, search.ts).
import * as vscode from "vscode";

export interface EndpointStatus { configured: boolean; endpoint?: string; models?: string[]; error?: string }

/** Where to look when something is wrong. */
export const DOCTOR_HINT = "Run \"lean-sidecar: Run doctor\" (command palette), or `lean-sidecar doctor` in a terminal, for what to fix.";

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
    this.item.text = "$(beaker) lean-sidecar";
    this.item.command = command;
    this.item.show();
  }

  problem(text: string, tooltip: string): void {
    this.item.text = `$(warning) lean-sidecar: ${text}`;
    this.item.tooltip = `${tooltip}\n${DOCTOR_HINT}`;
  }

  /** The sidecar is not there yet: in the shim route it starts with Lean's server, when a Lean
   * file is open. Not a problem. */
  starting(): void {
    this.item.text = "$(beaker) lean-sidecar: starting";
    this.item.tooltip = "Waiting for the sidecar to start (beside the Lean 4 extension it starts with Lean's"
      + " server, when a Lean file is open).";
  }

  endpoint(r: EndpointStatus | Error): void {
    if (r instanceof Error) {
      this.item.text = "$(warning) lean-sidecar";
      this.item.tooltip = `${r.message}\n${DOCTOR_HINT}`;
    } else if (!r.configured) {
      this.item.text = "$(beaker) lean-sidecar: tactics only";
      this.item.tooltip = "No prover endpoint configured (leanSidecar.endpoints): the symbolic cascade alone.";
    } else if (r.error) {
      this.item.text = "$(warning) lean-sidecar: endpoint down";
      this.item.tooltip = `${r.error}\n${DOCTOR_HINT}`;
    } else {
      this.item.text = `$(beaker) lean-sidecar: ${r.models?.[0] ?? "model"}`;
      this.item.tooltip = `Endpoint ${r.endpoint} is healthy`;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
