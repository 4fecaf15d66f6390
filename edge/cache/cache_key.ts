/**
 * Bounded storage keys: a logical key (or tag) of any length becomes a key every tier accepts, so
 * a long URL is cached like any other instead of skipping the cache on every request.
 */
import { createHash } from "node:crypto";

/**
 * Keys and tags up to this many UTF-16 units are stored as they are. A Deno KV key holds at most
 * 2,048 bytes and a tag index key holds a tag and a key (at most 3 UTF-8 bytes per unit each).
 */
export const MAX_READABLE_KEY_LENGTH = 256;

/** Marks digest keys; readable keys never start with it, so the two forms cannot collide. */
const DIGEST_PREFIX = "sha256:";

/** How much of a long key follows its digest, to keep it recognisable in KV and Redis. */
const READABLE_TAIL = 48;

/**
 * The key a tier stores `key` under: short keys as they are (readable), anything longer as
 * `sha256:<digest>:<first characters>`.
 *
 * @example boundedKey("page:p:oak-desk") // "page:p:oak-desk"
 */
export function boundedKey(key: string): string {
  if (
    key.length <= MAX_READABLE_KEY_LENGTH && !key.startsWith(DIGEST_PREFIX) && key.isWellFormed()
  ) {
    return key;
  }
  // A lone surrogate has no UTF-8 form: hash its JSON escape, marked so it cannot pose as a key.
  const hashed = key.isWellFormed() ? `w${key}` : `j${JSON.stringify(key)}`;
  const digest = createHash("sha256").update(hashed).digest("base64url");
  return `${DIGEST_PREFIX}${digest}:${key.slice(0, READABLE_TAIL).toWellFormed()}`;
}
