// Wiring only: each feature is a class that owns what it registers and disposes it, handed to
// VS Code in context.subscriptions. The work lives in the classes imported here.
import * as vscode from "vscode";
import { ApiKey } from "./apiKey";
import { StandaloneClient } from "./client";
import { Commands } from "./commands";
import { Doctor } from "./doctor";
import { EndpointCheck } from "./endpointCheck";
import { Launch } from "./launch";
import { readSettings } from "./settings";
import { ShimRoute } from "./shim";
import { StatusBar } from "./statusBar";

/** Features whose teardown is asynchronous (a server to stop, a socket to close): VS Code awaits
 * deactivate(), not dispose(). */
let stopping: { dispose(): Promise<void> }[] = [];

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("lean-sidecar");
  const status = new StatusBar("leanSidecar.checkEndpointStatus");
  context.subscriptions.push(output, status);
  const settings = readSettings();
  const launch = await Launch.find(settings, output, status);
  const apiKey = new ApiKey(context.secrets, output);
  const shim = new ShimRoute(context.globalStorageUri, output, launch, apiKey);
  const key = await apiKey.current();  // on activation: a withheld key is told now
  const client = new StandaloneClient(output, launch, apiKey);
  const endpoint = new EndpointCheck(status, client);
  const doctor = new Doctor(launch, apiKey);
  const commands = new Commands({ output, server: client, endpoint, apiKey, shim, doctor });
  context.subscriptions.push(apiKey, shim, client, endpoint, doctor, commands);
  stopping = [client, apiKey];

  if (launch.cannotRun()) return;
  await client.start(settings, key);  // the standalone route
  await shim.start();                 // the shim route
  endpoint.watch();
}

export async function deactivate(): Promise<void> {
  const features = stopping;
  stopping = [];
  await Promise.all(features.map((f) => f.dispose()));
}
