// The endpoint API key belongs to one endpoint origin. It is stored with the origin it was set
// for and handed to the sidecar only while every configured endpoint has that origin: a cloned
// workspace whose settings point `leanSidecar.endpoints` elsewhere gets no key. No `vscode`
// import: unit-tested with node --test.

export interface ScopedKey {
  /** The key to hand over, when the endpoints allow it. */
  key?: string;
  /** Why the stored key is withheld (shown to the user once), when one is stored. */
  withheld?: string;
}

/** The origin (scheme://host:port) every endpoint shares, or undefined if none or several. */
export function endpointOrigin(endpoints: unknown): string | undefined {
  const list = Array.isArray(endpoints) ? endpoints : typeof endpoints === "string" ? [endpoints] : [];
  const origins = new Set<string>();
  for (const e of list) {
    if (typeof e !== "string" || !e) continue;
    try {
      origins.add(new URL(e).origin);
    } catch {
      return undefined;
    }
  }
  return origins.size === 1 ? [...origins][0] : undefined;
}

/** What to store in the secret storage for `key`, set while `endpoints` are configured; or an
 * error (no single endpoint origin to bind the key to). */
export function storeKey(key: string, endpoints: unknown): { stored?: string; error?: string } {
  const origin = endpointOrigin(endpoints);
  if (!origin) {
    return { error: "set leanSidecar.endpoints (one endpoint origin) before the API key: the key is saved for that endpoint only" };
  }
  return { stored: JSON.stringify({ origin, key }) };
}

/** The key for the endpoints configured now, from what the secret storage holds. */
export function keyFor(stored: string | undefined, endpoints: unknown): ScopedKey {
  if (!stored) return {};
  let saved: { origin?: unknown; key?: unknown };
  try {
    saved = JSON.parse(stored) as { origin?: unknown; key?: unknown };
  } catch {
    saved = {};
  }
  if (typeof saved.origin !== "string" || typeof saved.key !== "string") {
    return { withheld: "the saved API key has no endpoint of its own (saved by an older version): set it again with lean-sidecar: Set endpoint API key" };
  }
  const origin = endpointOrigin(endpoints);
  if (origin !== saved.origin) {
    return {
      withheld: `the API key was saved for ${saved.origin}, but leanSidecar.endpoints point to `
        + `${origin ?? "other or several origins"}: the key is not sent there. Set the key again for the new endpoint if you trust it.`,
    };
  }
  return { key: saved.key };
}
