/**
 * HMAC-SHA256 signatures with a key imported once: guest order links, payment webhooks. (Cart
 * cookies use hono/cookie's signed cookies over the same secret.)
 */
import { base64url } from "jose";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";

export type SignatureEncoding = "base64url" | "hex";

/** Signs and verifies messages with one secret. */
export interface Signer {
  /** The signature of `message` in the signer's encoding. */
  sign(message: string): Promise<string>;
  /** True when `signature` is `message`'s signature; compares in constant time. */
  verify(message: string, signature: string): Promise<boolean>;
}

const HMAC = { name: "HMAC", hash: "SHA-256" } as const;
const encoder = new TextEncoder();

/**
 * Imports `secret` as an HMAC-SHA256 key once and returns a signer over it.
 *
 * @example
 * ```ts
 * const links = await createSigner(secret);
 * const token = await links.sign(`order:${id}`);
 * ```
 */
export async function createSigner(
  secret: string,
  options: { encoding?: SignatureEncoding; cacheSize?: number } = {},
): Promise<Signer> {
  const encoding = options.encoding ?? "base64url";
  // A shopper's cookie is verified on every request, an order's link signed for the answer and
  // again for its mail: remembering recent signatures spares most HMAC calls (each one a hop
  // through WebCrypto). Bounded; only signatures this key made or accepted are kept.
  const known = new BoundedSet(options.cacheSize ?? 10_000);
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), HMAC, false, [
    "sign",
    "verify",
  ]);
  const signed = new Map<string, string>();
  return {
    async sign(message) {
      const cached = signed.get(message);
      if (cached !== undefined) return cached;
      const bytes = new Uint8Array(
        await crypto.subtle.sign(HMAC.name, key, encoder.encode(message)),
      );
      const signature = encoding === "hex" ? toHex(bytes) : base64url.encode(bytes);
      remember(signed, message, signature, options.cacheSize ?? 10_000);
      known.add(`${message}\n${signature}`);
      return signature;
    },
    async verify(message, signature) {
      if (known.has(`${message}\n${signature}`)) return true;
      const bytes = encoding === "hex" ? fromHex(signature) : fromBase64url(signature);
      if (!bytes || bytes.length !== 32) return false;
      const valid = await crypto.subtle.verify(HMAC.name, key, bytes, encoder.encode(message));
      if (valid) known.add(`${message}\n${signature}`);
      return valid;
    },
  };
}

/** Insertion-ordered set that forgets its oldest entries beyond `limit`. */
class BoundedSet {
  #entries = new Set<string>();
  constructor(readonly limit: number) {}
  has(entry: string): boolean {
    return this.#entries.has(entry);
  }
  add(entry: string): void {
    if (this.limit <= 0 || this.#entries.has(entry)) return;
    this.#entries.add(entry);
    if (this.#entries.size > this.limit) {
      this.#entries.delete(this.#entries.values().next().value!);
    }
  }
}

function remember(map: Map<string, string>, key: string, value: string, limit: number) {
  if (limit <= 0) return;
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(text)) return undefined;
  return Uint8Array.from(text.match(/../g)!, (pair) => parseInt(pair, 16));
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    return new Uint8Array(base64url.decode(text));
  } catch {
    return undefined;
  }
}

/**
 * Hex SHA-256 of `text`, computed synchronously (WebCrypto's digest hops to a thread pool, which
 * cost ten times more per call for the short texts hashed per checkout).
 */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The shop's signing secret: `configured` when set (every instance must share it); otherwise
 * one generated on first start and kept in `<dataDir>/shop-secret` (mode 0600).
 */
export async function loadShopSecret(
  settings: { configured?: string; dataDir: string },
): Promise<string> {
  if (settings.configured) return settings.configured;
  const path = join(settings.dataDir, "shop-secret");
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  await Deno.mkdir(dirname(path), { recursive: true });
  // createNew: if another process won the race, use its secret rather than overwrite it.
  try {
    await Deno.writeTextFile(path, secret, { mode: 0o600, createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return (await Deno.readTextFile(path)).trim();
  }
  return secret;
}
