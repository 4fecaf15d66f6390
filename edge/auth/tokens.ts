/**
 * Access tokens: short-lived JWTs signed with Ed25519 (or ES256) keys from configuration,
 * verified with nothing but the public keys held in memory.
 *
 * Keys are imported once, at start-up. The first configured key signs; every configured key
 * verifies (looked up by `kid`), so a rotated-out key keeps working until its tokens expire.
 */
import { dirname, join } from "node:path";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTHeaderParameters,
  jwtVerify,
  SignJWT,
} from "jose";

export type Role = "customer" | "admin";
export const ROLES: readonly Role[] = ["customer", "admin"];

/** What a verified access token says about its bearer. */
export interface AccessClaims {
  /** The user id (`sub`). */
  id: string;
  role: Role;
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** Thrown for any token that must not be trusted; the message is for logs, not for clients. */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

export interface AccessTokens {
  /** Signs a token for `user` with the current key. */
  issue(user: { id: string; role: Role }): Promise<{ token: string; claims: AccessClaims }>;
  /** Verifies signature, `kid`, algorithm, iss, aud, exp and nbf; throws `InvalidTokenError`. */
  verify(token: string): Promise<AccessClaims>;
  /** The public keys, for `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] };
  /** Token lifetime in seconds. */
  readonly ttlSeconds: number;
}

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Seconds of clock skew tolerated on exp/nbf; defaults to 5. */
  clockToleranceSeconds?: number;
}

interface VerifyingKey {
  alg: "EdDSA" | "ES256";
  key: CryptoKey;
}

/** The JWS algorithm a private or public JWK is used with; anything else is refused. */
export function algorithmFor(jwk: JWK): "EdDSA" | "ES256" {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new TypeError(`Unsupported signing key "${jwk.kid}": use Ed25519 (OKP) or P-256 (EC)`);
}

/** The public half of a private JWK, with `kid`, `alg` and `use` set. */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, key_ops: _ops, ext: _ext, ...rest } = jwk;
  return { ...rest, alg: algorithmFor(jwk), use: "sig" };
}

/**
 * Imports `privateKeys` (newest first) once and returns the issuer/verifier.
 *
 * @example
 * ```ts
 * const tokens = await createAccessTokens(await loadSigningKeys({ dataDir: "./data" }), {
 *   issuer: "https://shop.example", audience: "shop", ttlSeconds: 900,
 * });
 * const { token } = await tokens.issue({ id: "u1", role: "customer" });
 * ```
 */
export async function createAccessTokens(
  privateKeys: JWK[],
  options: AccessTokenOptions,
): Promise<AccessTokens> {
  if (privateKeys.length === 0) throw new TypeError("At least one signing key is required");
  const kids = new Set<string>();
  for (const jwk of privateKeys) {
    if (!jwk.kid) throw new TypeError("Every signing key needs a kid");
    if (kids.has(jwk.kid)) throw new TypeError(`Duplicate signing key kid "${jwk.kid}"`);
    kids.add(jwk.kid);
  }
  const [current] = privateKeys;
  const signingAlg = algorithmFor(current);
  const signingKey = await importJWK(current, signingAlg) as CryptoKey;
  const publicKeys = privateKeys.map(publicJwk);
  const verifying = new Map<string, VerifyingKey>();
  for (const jwk of publicKeys) {
    const alg = algorithmFor(jwk);
    verifying.set(jwk.kid!, { alg, key: await importJWK(jwk, alg) as CryptoKey });
  }
  const algorithms = [...new Set([...verifying.values()].map((k) => k.alg))];
  const clockTolerance = options.clockToleranceSeconds ?? 5;

  // Resolving by kid, and checking the header's alg against that key's own algorithm, means a
  // token can never choose how it is verified (no `none`, no HS256 keyed with a public key).
  function keyFor(header: JWTHeaderParameters): CryptoKey {
    const entry = header.kid === undefined ? undefined : verifying.get(header.kid);
    if (!entry) throw new InvalidTokenError(`Unknown kid "${header.kid}"`);
    if (header.alg !== entry.alg) throw new InvalidTokenError(`Unexpected alg "${header.alg}"`);
    return entry.key;
  }

  return {
    ttlSeconds: options.ttlSeconds,
    async issue(user) {
      const now = Math.floor(Date.now() / 1000);
      const claims: AccessClaims = {
        id: user.id,
        role: user.role,
        jti: crypto.randomUUID(),
        exp: now + options.ttlSeconds,
      };
      const token = await new SignJWT({ role: user.role })
        .setProtectedHeader({ alg: signingAlg, kid: current.kid!, typ: "JWT" })
        .setSubject(user.id)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setJti(claims.jti)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(claims.exp)
        .sign(signingKey);
      return { token, claims };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keyFor, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          clockTolerance,
          requiredClaims: ["sub", "jti", "exp", "nbf", "role"],
        });
        const role = payload.role as Role;
        if (!ROLES.includes(role)) throw new InvalidTokenError(`Unknown role "${payload.role}"`);
        return { id: payload.sub!, role, jti: payload.jti!, exp: payload.exp! };
      } catch (error) {
        if (error instanceof InvalidTokenError) throw error;
        throw new InvalidTokenError((error as Error).message, { cause: error });
      }
    },
    jwks: () => ({ keys: publicKeys }),
  };
}

/** Generates a fresh Ed25519 private JWK with a random `kid`. */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: crypto.randomUUID(), alg: "EdDSA" };
}

/**
 * The signing keys: `configured` when given; otherwise one key pair generated on first start
 * and kept in `<dataDir>/auth-keys.json` (mode 0600), so restarts keep tokens valid.
 */
export async function loadSigningKeys(
  settings: { signingKeys?: JWK[]; dataDir: string },
): Promise<JWK[]> {
  if (settings.signingKeys?.length) return settings.signingKeys;
  const path = join(settings.dataDir, "auth-keys.json");
  try {
    return JSON.parse(await Deno.readTextFile(path)) as JWK[];
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const keys = [await generateSigningKey()];
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // createNew: if another process won the race, use its keys rather than overwrite them.
  try {
    await Deno.writeTextFile(path, JSON.stringify(keys), { mode: 0o600, createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return JSON.parse(await Deno.readTextFile(path)) as JWK[];
  }
  return keys;
}
