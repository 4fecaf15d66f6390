/**
 * Authentication and authorization middleware for Bearer access tokens.
 *
 * `authenticate` never touches the database or Redis: the signature proves the claims, and the
 * logout denylist is an in-memory set kept current by edge/denylist.ts.
 */
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { type AccessClaims, type AccessTokens, InvalidTokenError, type Role } from "./tokens.ts";

/** What `authenticate` puts in `c.var.user`. */
export type AuthUser = AccessClaims;

export type AuthEnv = { Variables: { user?: AuthUser } };

/** The part of the denylist the hot path needs: a synchronous membership test. */
export interface RevokedTokens {
  has(jti: string): boolean;
}

export interface AuthenticateOptions {
  tokens: AccessTokens;
  denylist: RevokedTokens;
}

/**
 * Reads `Authorization: Bearer <jwt>`, verifies it and sets `c.var.user`; leaves it unset when
 * the header is absent. An invalid or revoked token is answered with 401 at once.
 */
export function authenticate(options: AuthenticateOptions) {
  const { tokens, denylist } = options;
  return createMiddleware<AuthEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const match = /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(header);
      if (!match) throw unauthorized("Malformed Authorization header");
      let user: AuthUser;
      try {
        user = await tokens.verify(match[1]);
      } catch (error) {
        if (error instanceof InvalidTokenError) throw unauthorized("Invalid or expired token");
        throw error;
      }
      if (denylist.has(user.jti)) throw unauthorized("Invalid or expired token");
      c.set("user", user);
    }
    await next();
  });
}

/** 401 unless `authenticate` found a valid token. */
export function requireUser() {
  return createMiddleware<AuthEnv>(async (c, next) => {
    if (!c.get("user")) throw unauthorized("Sign in to continue");
    await next();
  });
}

/**
 * 401 without a valid token, 403 when its role is not `role`.
 *
 * @example
 * ```ts
 * admin.use(authenticate(services.auth), requireRole("admin"));
 * ```
 */
export function requireRole(role: Role) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const user = c.get("user");
    if (!user) throw unauthorized("Sign in to continue");
    if (user.role !== role) throw new HTTPException(403, { message: "Not allowed" });
    await next();
  });
}

function unauthorized(message: string): HTTPException {
  return new HTTPException(401, { message });
}
