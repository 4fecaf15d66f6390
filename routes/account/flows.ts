/**
 * The steps of register, login, refresh and logout, shared by the JSON API and the HTML forms.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { Database } from "../../db/client.ts";
import {
  createRefreshToken,
  getRefreshTokenFamily,
  revokeRefreshTokenFamily,
  rotateRefreshToken,
} from "../../db/refresh_tokens.ts";
import {
  createUser,
  EmailTakenError,
  getUserByEmail,
  updateUserPasswordHash,
  upsertAdminUser,
} from "../../db/users.ts";
import {
  type Auth,
  InvalidCredentialsError,
  newRefreshToken,
  normalizeEmail,
  sha256Hex,
} from "../../edge/auth/auth.ts";
import type { Role } from "../../edge/auth/tokens.ts";
import { crossOriginProtection } from "../../edge/http/csrf.ts";
import { clientAddress, type ProxySettings } from "../../edge/http/proxy.ts";
import { ACCOUNT_NAME_COOKIE } from "../../islands/cookies.ts";

export interface AuthDeps {
  auth: Auth;
  database: Database;
  config: { http: ProxySettings };
  /** Runs after a successful sign-in (the cart merges the browser's anonymous cart). */
  onSignIn?: (c: Context, userId: string) => Promise<void>;
  /** Runs on sign-out (the browser forgets the account's cart). */
  onSignOut?: (c: Context) => void;
}

/** `__Secure-` makes browsers insist on Secure; the path keeps it off every other request. */
export const REFRESH_COOKIE = "__Secure-shop_refresh";
export const REFRESH_COOKIE_PATH = "/api/auth";

export const credentialsSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email({ error: "must be an email address" }))
    .pipe(z.string().max(254, { error: "must be at most 254 characters" })),
  password: z.string({ error: "is required" })
    .min(8, { error: "must be at least 8 characters" })
    .max(128, { error: "must be at most 128 characters" }),
});

export type Credentials = z.output<typeof credentialsSchema>;

export interface Session {
  accessToken: string;
  expiresIn: number;
  user: { id: string; email: string; role: Role };
}

/** Origin check for cookie-authenticated posts (see edge/http/csrf.ts). */
export function csrfProtection(deps: Pick<AuthDeps, "auth" | "config">) {
  return crossOriginProtection({ ...deps.config.http, trustedOrigins: deps.auth.trustedOrigins });
}

/** The client's address for per-address limits. */
function clientIp(deps: Pick<AuthDeps, "config">, c: Context): string {
  return clientAddress(c, deps.config.http);
}

/**
 * Registers an account. An existing email is not an error the caller sees: both cases cost one
 * hash and end the same way, so the response cannot reveal who has an account.
 */
export async function registerAccount(
  deps: AuthDeps,
  c: Context,
  credentials: Credentials,
): Promise<void> {
  const { auth, database } = deps;
  await auth.limiter.enforce([
    ["registerIp", clientIp(deps, c)],
    ["registerAccount", await sha256Hex(credentials.email)],
  ]);
  const passwordHash = await auth.passwords.hash(credentials.password);
  try {
    await createUser(database.writer, { email: credentials.email, passwordHash });
  } catch (error) {
    if (!(error instanceof EmailTakenError)) throw error;
    // A real deployment would email the owner "someone tried to register your address".
  }
}

/**
 * Checks credentials and starts a session (new refresh-token family, cookie set on `c`).
 *
 * Only failed attempts count, against three limits in turn: this address (whatever the account),
 * this account from this address, and this account from everywhere (a much higher ceiling). A
 * guesser is slowed at their own address without locking the owner out of theirs; the ceiling
 * bounds a guess spread over many addresses. A hit is counted before the password is checked and
 * given back when it was right (or the check could not run), so parallel guesses stay bounded.
 */
export async function logIn(
  deps: AuthDeps,
  c: Context,
  credentials: Credentials,
): Promise<Session> {
  const { auth, database } = deps;
  const address = clientIp(deps, c);
  const account = await sha256Hex(credentials.email);
  const attempt = await auth.limiter.enforce([
    ["loginIp", address],
    ["loginAccountIp", `${account}/${address}`],
    ["loginAccount", account],
  ]);
  let user: Awaited<ReturnType<typeof getUserByEmail>>;
  try {
    // The nearest copy first (in a far region the primary is a round trip away); it may lack an
    // account registered a moment ago or hold an older password hash, so a miss asks the primary.
    user = await getUserByEmail(database.reader, credentials.email);
    let result = await auth.passwords.verify(user?.passwordHash, credentials.password);
    if (!user || !result.ok) {
      const current = await getUserByEmail(database.writer, credentials.email);
      if (current && current.passwordHash !== user?.passwordHash) {
        user = current;
        result = await auth.passwords.verify(user.passwordHash, credentials.password);
      }
    }
    if (!user || !result.ok) throw new InvalidCredentialsError();
    if (result.needsRehash) {
      await updateUserPasswordHash(
        database.writer,
        user.id,
        await auth.passwords.hash(credentials.password),
      );
    }
  } catch (error) {
    if (!(error instanceof InvalidCredentialsError)) await attempt.refund();
    throw error;
  }
  await attempt.refund();
  const refresh = await newRefreshToken();
  await createRefreshToken(database.writer, {
    userId: user.id,
    familyId: crypto.randomUUID(),
    tokenHash: refresh.hash,
    expiresAt: Date.now() + auth.refreshTtlSeconds * 1000,
  });
  setRefreshCookie(c, refresh.token, auth.refreshTtlSeconds);
  setAccountNameCookie(c, user.name || user.email.split("@")[0], auth.refreshTtlSeconds);
  await deps.onSignIn?.(c, user.id);
  return await session(auth, user);
}

/** Rotates the cookie's refresh token; reuse or an unknown token clears the cookie and throws. */
export async function refreshSession(deps: AuthDeps, c: Context): Promise<Session> {
  const { auth, database } = deps;
  await auth.limiter.enforce([["refreshIp", clientIp(deps, c)]]);
  const presented = getCookie(c, REFRESH_COOKIE);
  if (!presented) throw new InvalidCredentialsError();
  const next = await auth.successorToken(presented);
  try {
    const { user } = await rotateRefreshToken(database.writer, await sha256Hex(presented), {
      tokenHash: next.hash,
      expiresAt: Date.now() + auth.refreshTtlSeconds * 1000,
    }, { graceMs: auth.refreshGraceMs });
    setRefreshCookie(c, next.token, auth.refreshTtlSeconds);
    return await session(auth, user);
  } catch (error) {
    clearRefreshCookie(c);
    throw error;
  }
}

/**
 * Ends the session: revokes the cookie's refresh-token family and denylists the Bearer token's
 * `jti` until it expires. Invalid or missing credentials are ignored: logout always succeeds.
 */
export async function logOut(deps: AuthDeps, c: Context): Promise<void> {
  const { auth, database } = deps;
  const presented = getCookie(c, REFRESH_COOKIE);
  if (presented) {
    const familyId = await getRefreshTokenFamily(database.writer, await sha256Hex(presented));
    if (familyId) await revokeRefreshTokenFamily(database.writer, familyId);
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (bearer) {
    const claims = await auth.tokens.verify(bearer).catch(() => undefined);
    if (claims) await auth.denylist.add(claims.jti, claims.exp);
  }
  clearRefreshCookie(c);
  deleteCookie(c, ACCOUNT_NAME_COOKIE, { path: "/" });
  deps.onSignOut?.(c);
}

async function session(
  auth: Auth,
  user: { id: string; email: string; role: Role },
): Promise<Session> {
  const { token } = await auth.tokens.issue(user);
  return {
    accessToken: token,
    expiresIn: auth.tokens.ttlSeconds,
    user: { id: user.id, email: user.email, role: user.role },
  };
}

function setRefreshCookie(c: Context, token: string, maxAge: number) {
  setCookie(c, REFRESH_COOKIE, token, {
    path: REFRESH_COOKIE_PATH,
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    maxAge,
  });
}

/**
 * The header's "signed in as" state on cached pages, which are the same for every shopper: a
 * readable display name the browser shows, never trusted by the server (it proves nothing).
 */
function setAccountNameCookie(c: Context, name: string, maxAge: number) {
  setCookie(c, ACCOUNT_NAME_COOKIE, name.slice(0, 60), {
    path: "/",
    secure: true,
    sameSite: "Lax",
    maxAge,
  });
}

function clearRefreshCookie(c: Context) {
  deleteCookie(c, REFRESH_COOKIE, { path: REFRESH_COOKIE_PATH, secure: true });
}

/** Creates the configured admin, or resets its password and role (run at start-up). */
export async function ensureAdminUser(
  deps: Pick<AuthDeps, "auth" | "database">,
  admin: { email: string; password: string },
): Promise<void> {
  const passwordHash = await deps.auth.passwords.hash(admin.password);
  await upsertAdminUser(deps.database.writer, { email: normalizeEmail(admin.email), passwordHash });
}
