// Pure logic of the extension (no `vscode` import), so that it is unit-tested with node --test.

/** The settings the extension forwards to the sidecar (same names as docs/configuration.md). */
export const FORWARDED = [
  "endpoints", "model", "modelFamily", "temperature", "topP", "maxTokens", "samplesPerRequest",
  "budgetSamples", "budgetSeconds", "tactics", "fixRounds", "decomposeDepth", "hoverSuggestions",
  "allowNativeDecide", "replPath", "lakePath", "replPoolSize", "cachePath", "logLevel",
] as const;

export type Settings = Record<string, unknown>;

/** initializationOptions for the sidecar: only settings that are set (empty means default). */
export function initializationOptions(settings: Settings): { leanSidecar: Settings } {
  const out: Settings = {};
  for (const key of FORWARDED) {
    const value = settings[key];
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value) && value.length === 0 && key !== "tactics") continue;
    out[key] = value;
  }
  return { leanSidecar: out };
}

/** How to start the sidecar: an explicit command wins, then a Python interpreter, then PATH. */
export function serverCommand(settings: Settings): { command: string; args: string[] } {
  const explicit = settings["serverCommand"];
  let base: string[];
  if (Array.isArray(explicit) && explicit.length > 0) {
    base = explicit.map(String);
  } else if (typeof settings["pythonPath"] === "string" && settings["pythonPath"]) {
    base = [settings["pythonPath"] as string, "-m", "lean_sidecar", "serve"];
  } else {
    base = ["lean-sidecar", "serve"];
  }
  const upstream = settings["upstream"];
  if (Array.isArray(upstream) && upstream.length > 0) {
    base = [...base, "--upstream", upstream.map(shellQuote).join(" ")];
  }
  return { command: base[0], args: base.slice(1) };
}

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_\-./:=@+,]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`;
}

/** The environment of the sidecar: the API key comes from VS Code's SecretStorage, never from
 * settings files. */
export function serverEnv(base: NodeJS.ProcessEnv, apiKey: string | undefined): NodeJS.ProcessEnv {
  const env = { ...base };
  if (apiKey) env["LEAN_SIDECAR_API_KEY"] = apiKey;
  return env;
}

export type Route = "shim" | "standalone";

/** Which route: the Lean extension's server through the sidecar (one Lean process per file), or
 * the sidecar as its own language server. */
export function chooseRoute(setting: unknown, leanExtensionInstalled: boolean): Route {
  if (setting === "shim" || setting === "standalone") return setting;
  return leanExtensionInstalled ? "shim" : "standalone";
}

/** A `lake` that sends `lake serve` through the sidecar and every other call to the real lake.
 * Written as a Python script run by the sidecar's interpreter (no shell quoting pitfalls). */
export function lakeShim(python: string, shimDir: string): string {
  return `#!${python}
# lean-sidecar's lake shim: \`lake serve ...\` starts the sidecar in front of the real
# \`lake serve ...\`; every other lake command runs the real lake unchanged.
import os, shlex, shutil, sys
shim_dir = ${JSON.stringify(shimDir)}
path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                       if os.path.abspath(p) != os.path.abspath(shim_dir))
real = shutil.which("lake", path=path)
if real is None:
    sys.exit("lean-sidecar shim: no real lake on PATH")
args = sys.argv[1:]
if args[:1] == ["serve"]:
    upstream = shlex.join([real, *args])
    os.execv(sys.executable, [sys.executable, "-m", "lean_sidecar", "serve", "--upstream", upstream])
os.execv(real, [real, *args])
`;
}

/** The first line of the first verified proof, for the status bar and messages. */
export function summarize(result: unknown): string {
  const r = result as { status?: string; found?: { proof: string; how: string }[]; error?: string };
  if (!r || typeof r !== "object") return "no answer";
  if (r.found && r.found.length > 0) {
    return `verified (${r.found[0].how}): ${r.found[0].proof.split("\n")[0]}`;
  }
  if (r.error) return `${r.status}: ${r.error}`;
  return r.status ?? "no answer";
}
