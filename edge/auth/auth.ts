/**
 * The auth toolkit the routes share, built once at start-up: access tokens, the logout
 * denylist, the password hasher and the rate limiter, plus the refresh-token primitives.
 */
import type { Redis } from "@upstash/redis";
import type { JWK } from "jose";
import { base64url } from "jose";
import type { Config } from "../platform/config.ts";
import { createDenylist, type Denylist } from "./denylist.ts";
import type { Logger } from "../platform/log.ts";
import {
  argon2idAlgorithm,
  createPasswordHasher,
  defaultHashConcurrency,
  type PasswordAlgorithm,
  type PasswordHasher,
} from "./passwords.ts";
import { createArgon2idWasmAlgorithm } from "./argon2_wasm.ts";
import { createRateLimiter, type RateLimiter } from "./rate_limit.ts";
import { type AccessTokens, createAccessTokens, loadSigningKeys } from "./tokens.ts";
import { AppError } from "../platform/errors.ts";

/** Email or password is wrong (deliberately not saying which). */
export class InvalidCredentialsError extends AppError {
  override name = "InvalidCredentialsError";
  constructor() {
    super(401, "invalid_credentials", "That email and password don't match. Please try again.");
  }
}

export type AuthRule =
  | "loginIp"
  | "loginAccountIp"
  | "loginAccount"
  | "registerIp"
  | "registerAccount"
  | "refreshIp";

export interface Auth {
  tokens: AccessTokens;
  denylist: Denylist;
  passwords: PasswordHasher;
  limiter: RateLimiter<AuthRule>;
  refreshTtlSeconds: number;
  /** How long a just-rotated refresh token is still answered with its successor (ms). */
  refreshGraceMs: number;
  /**
   * The refresh token that replaces `presented`: an HMAC of it under a key derived from the
   * signing key, so every instance answering concurrent refreshes of one token computes the
   * same successor, and nobody without the key can compute it from a stolen old token.
   */
  successorToken(presented: string): Promise<{ token: string; hash: string }>;
  /** Origins allowed on cookie-authenticated posts; `undefined`: the request's own origin. */
  trustedOrigins?: string[];
  close(): Promise<void>;
}

export interface CreateAuthOptions {
  /** Replaces the configured hasher (the benchmark swaps in bcrypt). */
  passwords?: PasswordHasher;
  /** Background denylist poll interval; 0 disables it. Defaults to config. */
  denylistPollMs?: number;
}

/** Imports keys, computes the dummy hash and loads the denylist: everything auth does once. */
export async function createAuth(
  deps: { config: Config; kv: Deno.Kv; redis?: Redis; logger?: Logger },
  options: CreateAuthOptions = {},
): Promise<Auth> {
  const { config, kv, redis, logger } = deps;
  const settings = config.auth;
  const keys = await loadSigningKeys({
    signingKeys: settings.signingKeys as JWK[] | undefined,
    dataDir: config.dataDir,
  });
  const tokens = await createAccessTokens(keys, {
    issuer: settings.issuer,
    audience: settings.audience,
    ttlSeconds: settings.accessTokenTtlSeconds,
  });
  const hashConcurrency = settings.hashConcurrency ?? defaultHashConcurrency();
  const successorKey = await deriveSuccessorKey(keys[0]);
  const passwords = options.passwords ?? await createPasswordHasher({
    algorithm: passwordAlgorithm(settings.passwordHasher, hashConcurrency, logger),
    maxConcurrent: hashConcurrency,
    maxQueue: settings.hashQueue,
    maxWaitMs: settings.hashMaxWaitMs,
  });
  const limits = settings.rateLimits;
  const limiter = createRateLimiter<AuthRule>({
    kv,
    redis,
    logger,
    rules: {
      loginIp: limits.loginPerIp,
      loginAccountIp: limits.loginPerAccountIp,
      loginAccount: limits.loginPerAccount,
      registerIp: limits.registerPerIp,
      registerAccount: limits.registerPerAccount,
      refreshIp: limits.refreshPerIp,
    },
  });
  const denylist = await createDenylist({
    kv,
    redis,
    logger,
    maxTtlSeconds: settings.accessTokenTtlSeconds,
    pollMs: options.denylistPollMs ?? settings.denylistPollMs,
  });
  return {
    tokens,
    denylist,
    passwords,
    limiter,
    refreshTtlSeconds: settings.refreshTokenTtlSeconds,
    refreshGraceMs: settings.refreshGraceSeconds * 1000,
    async successorToken(presented) {
      const mac = await crypto.subtle.sign("HMAC", successorKey, encoder.encode(presented));
      const token = base64url.encode(new Uint8Array(mac));
      return { token, hash: await sha256Hex(token) };
    },
    trustedOrigins: settings.trustedOrigins,
    async close() {
      await denylist.close();
      await passwords.close();
    },
  };
}

/**
 * argon2id through the native addon, or through WebAssembly in one Web Worker per hash slot
 * where native code is not allowed (the edge). The same parameters and PHC strings either way.
 */
function passwordAlgorithm(
  kind: Config["auth"]["passwordHasher"],
  concurrency: number,
  logger?: Logger,
): PasswordAlgorithm {
  if (kind === "native") return argon2idAlgorithm();
  const wasm = createArgon2idWasmAlgorithm({ workers: concurrency });
  if (wasm.inline) {
    logger?.warn("no Web Workers in this runtime: argon2id runs on the event loop", {
      hasher: "wasm",
    });
  } else {
    logger?.info("password hasher", { hasher: "wasm", workers: wasm.workers });
  }
  return wasm;
}

const encoder = new TextEncoder();

/** An HMAC key for refresh-token successors, separated from the signing key by HKDF's label. */
async function deriveSuccessorKey(signingKey: JWK): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey(
    "raw",
    encoder.encode(signingKey.d),
    "HKDF",
    false,
    ["deriveKey"],
  );
  return await crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(),
      info: encoder.encode("edge-shop refresh-token successor v1"),
    },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

/** Trims and lower-cases an email address. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A new opaque refresh token (32 random bytes, base64url) and the hash that is stored. */
export async function newRefreshToken(): Promise<{ token: string; hash: string }> {
  const token = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return { token, hash: await sha256Hex(token) };
}

/** Hex SHA-256 of `value`: how refresh tokens are stored and emails keyed in rate limits. */
export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(value));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
