// The endpoint API key for the shim route, handed over in memory: a Unix domain socket in a
// private directory (mode 0700) that answers each connection with the key (or nothing) and
// closes. The `lake` shim reads it into the sidecar's environment. Nothing secret is ever written
// to a file; a new key is served at once. No `vscode` import: unit-tested with node --test.
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/** sun_path holds 108 bytes on Linux and 104 on macOS, NUL included: stay under both. */
export const MAX_SOCKET_PATH = 103;

/** Where the private directory may go, best first: XDG_RUNTIME_DIR (per-user, 0700 already,
 * cleared at logout), then the temp folder, then /tmp (short when TMPDIR is long). */
export function socketBases(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  const xdg = env["XDG_RUNTIME_DIR"];
  if (xdg && path.isAbsolute(xdg)) out.push(xdg);
  out.push(os.tmpdir(), "/tmp");
  return [...new Set(out)];
}

/** The private directories' names start with this (distinct from every other temp folder of
 * lean-sidecar: only these are ever swept). */
export const PREFIX = "lean-sidecar-vscode-key-";

/** Can nobody be reached on this socket (no listener, or not there)? */
function dead(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.on("connect", () => { s.destroy(); resolve(false); });
    s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED" || err.code === "ENOENT"));
  });
}

/** Remove the directories of earlier channels whose extension host was killed before it could
 * clean up (a signal runs no deactivate): named PREFIX…, this user's, 0700, holding nothing but a
 * socket named `key` that nobody listens on. A live channel of another window answers, so it
 * stays. Returns what was removed. */
export async function removeStale(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const base of socketBases(env)) {
    let names: string[];
    try {
      names = fs.readdirSync(base).filter((n) => n.startsWith(PREFIX));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = path.join(base, name);
      try {
        const st = fs.lstatSync(dir);
        if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o777) !== 0o700) continue;
        const inside = fs.readdirSync(dir);
        if (inside.length !== 1 || inside[0] !== "key") continue;
        if (!fs.lstatSync(path.join(dir, "key")).isSocket() || !(await dead(path.join(dir, "key")))) continue;
        fs.rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      } catch { /* not ours to judge */ }
    }
  }
  return removed;
}

export class KeyChannel {
  private key: string | undefined;

  private constructor(private readonly server: net.Server, readonly dir: string, readonly socketPath: string,
    key: string | undefined) {
    this.key = key || undefined;
  }

  /** Listen in a fresh private directory under the first base that can hold a short enough path. */
  static async open(key: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<KeyChannel> {
    const errors: string[] = [];
    for (const base of socketBases(env)) {
      let dir: string | undefined;
      try {
        dir = fs.mkdtempSync(path.join(base, PREFIX));  // mkdtemp creates it 0700
        fs.chmodSync(dir, 0o700);
        const socketPath = path.join(dir, "key");
        if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) throw new Error(`socket path too long: ${socketPath}`);
        const server = net.createServer();
        const channel = new KeyChannel(server, dir, socketPath, key);
        server.on("connection", (conn) => {
          conn.on("error", () => undefined);  // a client that goes away early is no concern
          conn.end(channel.key ?? "");
        });
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(socketPath, () => { server.off("error", reject); resolve(); });
        });
        server.on("error", () => undefined);
        fs.chmodSync(socketPath, 0o600);
        // Also when the extension host ends without deactivating us (a killed window).
        process.once("exit", channel.removeDir);
        return channel;
      } catch (err) {
        errors.push(`${base}: ${err instanceof Error ? err.message : String(err)}`);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    throw new Error(`no private socket for the API key (${errors.join("; ")})`);
  }

  /** Serve this key from now on (undefined or "": serve nothing). */
  setKey(key: string | undefined): void {
    this.key = key || undefined;
  }

  /** Stop listening and remove the socket and its directory. */
  async close(): Promise<void> {
    process.off("exit", this.removeDir);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.removeDir();
  }

  private readonly removeDir = (): void => {
    try {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch { /* already gone */ }
  };
}
