// Finding the Python that runs the sidecar: an absolute interpreter that can import lean_sidecar.
// A bare `python3` or a relative path breaks under the Lean extension, whose environment differs
// from the user's shell, so the shim and the standalone route both use what this module finds.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { interpreterCandidates } from "./config";

/** The absolute path of `name` on PATH, or undefined. */
export function onPath(name: string, envPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const full = path.resolve(dir, name);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isFile()) return full;
    } catch { /* not here */ }
  }
  return undefined;
}

function firstLine(file: string): string | undefined {
  try {
    const fd = fs.openSync(file, "r");
    const buf = Buffer.alloc(512);
    const n = fs.readSync(fd, buf, 0, 512, 0);
    fs.closeSync(fd);
    return buf.subarray(0, n).toString("utf8").split("\n")[0];
  } catch {
    return undefined;
  }
}

/** Can this interpreter import the package? Resolves with its version line or an error text. */
export function probe(python: string, timeoutMs = 60_000): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile(python, ["-c", "import lean_sidecar.cli, importlib.metadata as m; print(m.version('lean-sidecar'))"],
      { timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) resolve({ ok: false, detail: (stderr || String(err)).trim().split("\n").slice(-1)[0] });
        else resolve({ ok: true, detail: stdout.trim() });
      });
  });
}

export interface Found { python?: string; tried: { python: string; detail: string }[] }

/** The first candidate that runs and imports lean_sidecar, as an absolute path. */
export async function findInterpreter(pythonPath: unknown, workspaceFolders: string[]): Promise<Found> {
  let explicit = pythonPath;
  if (typeof explicit === "string" && explicit.trim() && !path.isAbsolute(explicit.trim())) {
    explicit = onPath(explicit.trim()) ?? explicit;
  }
  const script = onPath("lean-sidecar");
  const candidates = interpreterCandidates({
    pythonPath: explicit, scriptShebang: script ? firstLine(script) : undefined,
    workspaceFolders, home: os.homedir(),
  });
  const tried: { python: string; detail: string }[] = [];
  for (const python of candidates) {
    if (!path.isAbsolute(python) || !fs.existsSync(python)) {
      if (python === explicit) tried.push({ python, detail: "not found" });
      continue;
    }
    const r = await probe(python);
    if (r.ok) return { python, tried };
    tried.push({ python, detail: r.detail });
  }
  return { tried };
}
