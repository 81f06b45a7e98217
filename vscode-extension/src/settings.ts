// The extension's settings, typed: package.json's contributes.configuration (generated from the
// server's settings model by tools/gen_vscode_contrib.py) as one interface, read in one place.
import * as vscode from "vscode";

/** Prompt dialects, as package.json's `modelFamily` enum lists them. */
export type ModelFamily = "auto" | "kimina" | "kimina-preview" | "deepseek-v2-cot" | "deepseek-v2" | "goedel-v2";

/** How requests go to several endpoints, as package.json's `endpointRouting` enum lists them. */
export type EndpointRouting = "auto" | "failover" | "spread";

/** Every leanSidecar.* setting as VS Code answers it: the user's value, else package.json's
 * default; null means unset (the server's default or LEAN_SIDECAR_* applies). VS Code does not
 * enforce the schema on a hand-edited settings.json, so code that acts on a value (config.ts)
 * still checks its shape. */
export interface Settings {
  // The extension's own: how it starts the sidecar (never sent to the server).
  route: "auto" | "shim" | "standalone";
  pythonPath: string | null;
  serverCommand: string[] | null;
  // The server's.
  allowNativeDecide: boolean;
  allowUnsandboxed: boolean;
  budgetSamples: number;
  budgetSeconds: number;
  cachePath: string | null;
  contextTokens: number | null;
  decomposeDepth: number;
  editorSearchCommand: string | null;
  endpointConcurrency: number;
  endpointCooldown: number;
  endpointRouting: EndpointRouting;
  endpoints: string[] | null;
  familySampling: boolean;
  fixRounds: number;
  hoverSamples: number;
  hoverSuggestions: boolean;
  lakePath: string;
  logFile: string | null;
  logLevel: string;
  maxAnswerBytes: number;
  maxDocumentMb: number;
  maxProofChars: number;
  maxRetries: number;
  maxTokens: number;
  mcpHost: string;
  mcpPort: number;
  mcpShare: boolean;
  mcpTokenFile: string | null;
  minTokenRate: number;
  model: string | null;
  modelFamily: ModelFamily;
  negationSamples: number;
  replMemoryMb: number | null;
  replPath: string | null;
  replPoolSize: number;
  replSandbox: boolean;
  replTimeout: number;
  requestTimeout: number;
  samplesPerRequest: number;
  sketchSamples: number;
  stallTimeout: number;
  tactics: string[] | null;
  temperature: number;
  topP: number;
  upstream: string[] | null;
  verifierConcurrency: number;
  verifierRetrySeconds: number;
  verifierServers: string[] | null;
}

type JsonType<T> = [T] extends [boolean] ? "boolean" : [T] extends [string] ? "string"
  : [T] extends [number] ? "number" | "integer" : [T] extends [readonly string[]] ? "array" : never;

/** The JSON schema `type` package.json gives a setting whose value has type T. */
type SchemaType<T> = null extends T ? readonly [JsonType<Exclude<T, null>>, "null"] : JsonType<T>;

/** Each setting's schema type, as in package.json. The compiler ties it to `Settings` (a key or a
 * type missing here does not compile), a unit test ties it to package.json (so a setting the
 * generator adds fails `npm test` until it is typed here); and it is the list of keys read. */
export const SETTING_TYPES: { readonly [K in keyof Settings]-?: SchemaType<Settings[K]> } = {
  route: "string",
  pythonPath: ["string", "null"],
  serverCommand: ["array", "null"],
  allowNativeDecide: "boolean",
  allowUnsandboxed: "boolean",
  budgetSamples: "integer",
  budgetSeconds: "number",
  cachePath: ["string", "null"],
  contextTokens: ["integer", "null"],
  decomposeDepth: "integer",
  editorSearchCommand: ["string", "null"],
  endpointConcurrency: "integer",
  endpointCooldown: "number",
  endpointRouting: "string",
  endpoints: ["array", "null"],
  familySampling: "boolean",
  fixRounds: "integer",
  hoverSamples: "integer",
  hoverSuggestions: "boolean",
  lakePath: "string",
  logFile: ["string", "null"],
  logLevel: "string",
  maxAnswerBytes: "integer",
  maxDocumentMb: "number",
  maxProofChars: "integer",
  maxRetries: "integer",
  maxTokens: "integer",
  mcpHost: "string",
  mcpPort: "integer",
  mcpShare: "boolean",
  mcpTokenFile: ["string", "null"],
  minTokenRate: "number",
  model: ["string", "null"],
  modelFamily: "string",
  negationSamples: "integer",
  replMemoryMb: ["integer", "null"],
  replPath: ["string", "null"],
  replPoolSize: "integer",
  replSandbox: "boolean",
  replTimeout: "number",
  requestTimeout: "number",
  samplesPerRequest: "integer",
  sketchSamples: "integer",
  stallTimeout: "number",
  tactics: ["array", "null"],
  temperature: "number",
  topP: "number",
  upstream: ["array", "null"],
  verifierConcurrency: "integer",
  verifierRetrySeconds: "number",
  verifierServers: ["array", "null"],
};

/** The `leanSidecar` section now. Read again where a value may have changed since activation
 * (the endpoints for the API key, a restart), as before. */
export function readSettings(): Settings {
  const section = vscode.workspace.getConfiguration("leanSidecar");
  const out: Partial<Record<keyof Settings, unknown>> = {};
  for (const key of Object.keys(SETTING_TYPES) as (keyof Settings)[]) out[key] = section.get(key);
  return out as Settings;
}
