// Searches as VS Code shows them: a notification with a Cancel button while the server works.
// The language clients (ours in the standalone route, the Lean extension's in the shim route)
// render the server's own work-done progress in the status bar only (ProgressLocation.Window: no
// cancel button), so the server's "Search proof for this sorry" action runs our command
// SEARCH_WITH_NOTIFICATION (config.ts), which calls the server's command inside a notification.
// The outcome of a search without a proof is the server's to tell (one window/showMessage, for
// every editor): nothing here says it again.
import * as vscode from "vscode";
import type { ServerCommands } from "./client";
import { summarize } from "./config";
import { SERVER } from "./serverCommands";

/** The argument of the server's search commands: the file, and for one sorry its position (and
 * the version the action was offered for). */
export interface SearchArg {
  uri: string;
  version?: number;
  position?: { line: number; character: number };
}

/** Where a search runs, for titles: `Fill.lean:7`. */
export function where(arg: SearchArg): string {
  const file = decodeURIComponent(arg.uri.replace(/[?#].*$/, "")).split("/").pop() || arg.uri;
  return arg.position ? `${file}:${arg.position.line + 1}` : file;
}

/** Run `work` (a server command on `arg`'s file) in a notification titled `title` whose Cancel
 * button cancels the searches of that file (leanSidecar.cancelSearch: the server stops the work,
 * HTTP streams included). Resolves to the command's answer; undefined when it failed, after an
 * error message with the server's reason, or when it was cancelled. */
export function inNotification(server: ServerCommands, title: string, arg: SearchArg,
  work: () => Promise<unknown>): Thenable<unknown> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (_progress, token) => {
      const cancel = token.onCancellationRequested(() => {
        server.call(SERVER.cancelSearch, { uri: arg.uri }).then(undefined, () => undefined);
      });
      try {
        return await work();
      } catch (err) {
        if (!token.isCancellationRequested) {
          void vscode.window.showErrorMessage(`${title}: ${err instanceof Error ? err.message : String(err)}`);
        }
        return undefined;
      } finally {
        cancel.dispose();
      }
    });
}

/** The command the server's "Search proof for this sorry" action runs: leanSidecar.searchProof
 * on that sorry, in a cancellable notification. Its answer goes to the log; the server told the
 * user how a search without a proof ended, and a proof appears in the light bulb. */
export async function searchProof(server: ServerCommands, output: vscode.OutputChannel, arg: SearchArg):
  Promise<unknown> {
  const result = await inNotification(server, `lean-sidecar: searching a proof (${where(arg)})`, arg,
    () => server.call(SERVER.searchProof, arg));
  output.appendLine(`search at ${where(arg)}: ${summarize(result)}`);
  return result;
}
