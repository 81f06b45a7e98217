// The command ids the sidecar registers (its executeCommandProvider), generated from the server
// by tools/gen_vscode_contrib.py into server-commands.json: one source, no copy kept by hand.
import generated from "./server-commands.json";

const ids = new Set<string>(generated.commands);

function id(name: string): string {
  const full = `leanSidecar.${name}`;
  if (!ids.has(full)) throw new Error(`the server does not register ${full} (regenerate server-commands.json)`);
  return full;
}

export const SERVER = {
  searchProof: id("searchProof"),
  fillAll: id("fillAll"),
  cancelSearch: id("cancelSearch"),
  trace: id("trace"),
  checkEndpoint: id("checkEndpoint"),
};
export const SERVER_COMMAND_IDS: readonly string[] = generated.commands;
