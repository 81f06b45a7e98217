// Pure logic of the extension (no `vscode` import), so that it is unit-tested with node --test.
import type { Settings } from "./settings";

/** Settings of the extension itself; every other leanSidecar.* setting is the server's. */
export const EXTENSION_ONLY = ["route", "pythonPath", "serverCommand"] as const satisfies readonly (keyof Settings)[];

/** The extension's own command that the server's "Search proof for this sorry" code action runs
 * (the server's setting editorSearchCommand, which the extension sets in both routes): it calls
 * the server's leanSidecar.searchProof under a cancellable notification (search.ts). The language
 * clients (ours, and the Lean extension's in the shim route) show the server's own progress in
 * the status bar only, without a cancel button. */
export const SEARCH_WITH_NOTIFICATION = "leanSidecar.searchProofWithNotification";

/** initializationOptions of the standalone route: the settings that are set, and our search
 * command unless the user chose another one. */
export function standaloneOptions(settings: Partial<Settings>): { leanSidecar: Record<string, unknown> } {
  const options = initializationOptions(settings);
  options.leanSidecar["editorSearchCommand"] ??= SEARCH_WITH_NOTIFICATION;
  return options;
}

/** initializationOptions for the sidecar: only settings that are set (null or "" mean unset, so
 * the server's default or environment applies). */
export function initializationOptions(settings: Partial<Settings>): { leanSidecar: Record<string, unknown> } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if ((EXTENSION_ONLY as readonly string[]).includes(key)) continue;
    if (value === undefined || value === null || value === "") continue;
    out[key] = value;
  }
  return { leanSidecar: out };
}

/** How to start the sidecar: an explicit command wins, then the interpreter found (absolute), then PATH. */
export function serverCommand(settings: Partial<Pick<Settings, "serverCommand" | "upstream">>,
  python?: string): { command: string; args: string[] } {
  const explicit = settings["serverCommand"];
  let base: string[];
  if (Array.isArray(explicit) && explicit.length > 0) {
    base = explicit.map(String);
  } else if (typeof python === "string" && python) {
    base = [python, ...sidecarArgs("serve")];
  } else {
    base = ["lean-sidecar", "serve"];
  }
  const upstream = settings["upstream"];
  if (Array.isArray(upstream) && upstream.length > 0) {
    base = [...base, "--upstream", upstream.map(shellQuote).join(" ")];
  }
  return { command: base[0], args: base.slice(1) };
}

/** Python code that runs the `lean-sidecar` CLI WITHOUT the working directory on sys.path: `-m`
 * and `-c` put it first, so a `lean_sidecar.py` or `lean_sidecar/` in the user's Lean project (the
 * working directory of `lake serve`) would run instead. Under -P / PYTHONSAFEPATH (3.11+) Python
 * adds nothing, so there is nothing to drop. */
export const SIDECAR_LAUNCHER = "import sys; getattr(sys.flags, 'safe_path', False) or sys.path.pop(0); "
  + "sys.argv[0] = 'lean-sidecar'; from lean_sidecar.cli import main; sys.exit(main())";

/** Arguments after the interpreter that run `lean-sidecar <subcommand> ...`. */
export function sidecarArgs(...rest: string[]): string[] {
  return ["-c", SIDECAR_LAUNCHER, ...rest];
}

/** `lean-sidecar doctor` for the command "Run doctor": the interpreter found, the project folder
 * and the settings it checks that are set (endpoints, model, paths). The API key goes in the
 * environment (serverEnv), never here. */
export function doctorCommand(python: string,
  settings: Partial<Pick<Settings, "endpoints" | "model" | "modelFamily" | "lakePath" | "replPath">>,
  project?: string): { command: string; args: string[] } {
  const args = sidecarArgs("doctor");
  if (project) args.push("--project", project);
  const endpoints = settings["endpoints"];
  if (Array.isArray(endpoints)) for (const e of endpoints) if (e) args.push("--endpoint", String(e));
  const flags: [keyof typeof settings, string][] = [["model", "--model"], ["modelFamily", "--model-family"],
    ["lakePath", "--lake-path"], ["replPath", "--repl-path"]];
  for (const [key, flag] of flags) {
    const value = settings[key];
    if (typeof value === "string" && value) args.push(flag, value);
  }
  return { command: python, args };
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
 * A Python script run by an ABSOLUTE interpreter that has lean_sidecar (a bare `python3` shebang
 * fails under the Lean extension's environment). The endpoint's API key, when one is stored, is
 * read from the extension's Unix socket `keySocket` (see keyChannel.ts; the path is no secret)
 * into the sidecar's environment as LEAN_SIDECAR_API_KEY: never on a command line, never in a
 * file. Any failure to reach the socket means no key, never a failed start. The sidecar is started
 * without the working directory (the user's project) on sys.path, and logs to `sidecar.log` beside
 * the shim's folder (the Lean extension shows anything on the server's stderr as an error). */
/** The sidecar's log file in the shim route, in the extension's storage folder (the parent of the
 * shim's folder); "Show log" opens it. */
export const SIDECAR_LOG = "sidecar.log";

/** The shim's own mark, in its first lines: `lean-sidecar doctor` (LAKE_SHIM_MARK in doctor.py)
 * tells it from Lean's `lake` by it, and checks the real lake behind it, as the search uses. */
export function lakeShim(python: string, shimDir: string, keySocket?: string): string {
  if (!python.startsWith("/")) throw new Error(`lake shim: interpreter must be absolute, got ${python}`);
  return `#!${python}
# lean-sidecar's lake shim: \`lake serve ...\` starts the sidecar in front of the real
# \`lake serve ...\`; every other lake command runs the real lake unchanged.
import os, shlex, shutil, socket, sys
shim_dir = ${JSON.stringify(shimDir)}
key_socket = ${JSON.stringify(keySocket ?? "")}
launcher = ${JSON.stringify(SIDECAR_LAUNCHER)}


def endpoint_key():
    """The key the editor serves on its socket, or None (no socket, no editor, no key)."""
    if not key_socket:
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(key_socket)
            data = b""
            while len(data) <= 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.decode("utf-8").strip() or None
    except (OSError, ValueError, AttributeError):
        return None


path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                       if p and os.path.abspath(p) != os.path.abspath(shim_dir))
real = shutil.which("lake", path=path)
if real is None:
    sys.exit("lean-sidecar shim: no real lake on PATH")
args = sys.argv[1:]
if args[:1] == ["serve"]:
    env = dict(os.environ, PATH=path)
    key = endpoint_key()
    if key:
        env["LEAN_SIDECAR_API_KEY"] = key
    # the Lean extension pops up every byte on stderr as an error: the sidecar logs to a file
    env.setdefault("LEAN_SIDECAR_LOG_FILE", os.path.join(os.path.dirname(shim_dir), ${JSON.stringify(SIDECAR_LOG)}))
    # its "Search proof" action runs lean-sidecar's command (a cancellable notification)
    env.setdefault("LEAN_SIDECAR_EDITOR_SEARCH_COMMAND", ${JSON.stringify(SEARCH_WITH_NOTIFICATION)})
    upstream = shlex.join([real, *args])
    os.execve(sys.executable, [sys.executable, "-c", launcher, "serve", "--upstream", upstream], env)
os.execv(real, [real, *args])
`;
}

/** Where to look for an interpreter that has lean_sidecar, best first (absolute paths). The
 * `lean-sidecar` console script's shebang names its interpreter; then well-known venvs. */
export function interpreterCandidates(opts: {
  pythonPath?: unknown; scriptShebang?: string; workspaceFolders: string[]; home: string;
}): string[] {
  const out: string[] = [];
  if (typeof opts.pythonPath === "string" && opts.pythonPath.trim()) out.push(opts.pythonPath.trim());
  const shebang = opts.scriptShebang?.match(/^#!\s*(\S+)/)?.[1];
  if (shebang && shebang.startsWith("/") && !shebang.endsWith("/env")) out.push(shebang);
  for (const folder of opts.workspaceFolders) {
    out.push(`${folder}/.venv/bin/python`, `${folder}/venv/bin/python`);
  }
  out.push(`${opts.home}/.local/share/pipx/venvs/lean-sidecar/bin/python`,
    `${opts.home}/.local/pipx/venvs/lean-sidecar/bin/python`);
  return [...new Set(out)];
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
