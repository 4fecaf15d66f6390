/**
 * Files only the shop's own user may read: the database, the KV store and the generated signing
 * key hold password hashes, refresh-token hashes and private keys. SQLite gives its `-wal`,
 * `-shm` and `-journal` files the mode of the database file, so creating that file 0600 before
 * the driver opens it covers them too.
 */
import { mkdirSync } from "node:fs";

/** Mode of the data directory and everything created in it. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Creates `dir` (and missing parents) 0700, or tightens an existing one to 0700 when this user
 * owns it and it is not a shared sticky directory such as `/tmp`.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  const info = Deno.statSync(dir);
  const sticky = ((info.mode ?? 0) & 0o1000) !== 0;
  if (info.uid === Deno.uid() && !sticky && ((info.mode ?? 0) & 0o077) !== 0) {
    Deno.chmodSync(dir, PRIVATE_DIR);
  }
}

/**
 * Makes `path` a 0600 file before a driver opens it: creates it empty if missing (SQLite takes
 * an empty file as a new database), tightens it and its SQLite side files if they exist.
 */
export function ensurePrivateFile(path: string): void {
  const file = Deno.openSync(path, { read: true, create: true, mode: PRIVATE_FILE, write: true });
  file.close();
  for (const candidate of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      if (((Deno.statSync(candidate).mode ?? 0) & 0o077) !== 0) {
        Deno.chmodSync(candidate, PRIVATE_FILE);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
