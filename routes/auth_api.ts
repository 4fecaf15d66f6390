import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { getUserById } from "../db/users.ts";
import { authenticate, type AuthEnv, requireUser } from "../edge/auth_middleware.ts";
import {
  type AuthDeps,
  credentialsSchema,
  csrfProtection,
  logIn,
  logOut,
  refreshSession,
  registerAccount,
} from "./auth_flows.ts";
import { parseWith } from "./validation.ts";

/** Accounts over JSON: `/api/auth/register|login|refresh|logout|me`. */
export function authApi(deps: AuthDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use(csrfProtection(deps.auth));

  app.post("/register", async (c) => {
    const credentials = parseWith(credentialsSchema, await jsonBody(c.req.raw));
    await registerAccount(deps, c, credentials);
    // Same answer whether or not the email was already registered.
    return c.json({
      status: "accepted",
      message: "If this address can be used, you can now sign in",
    }, 202);
  });

  app.post("/login", async (c) => {
    const credentials = parseWith(credentialsSchema, await jsonBody(c.req.raw));
    const session = await logIn(deps, c, credentials);
    c.header("Cache-Control", "no-store");
    return c.json({ tokenType: "Bearer", ...session });
  });

  app.post("/refresh", async (c) => {
    const session = await refreshSession(deps, c);
    c.header("Cache-Control", "no-store");
    return c.json({ tokenType: "Bearer", ...session });
  });

  app.post("/logout", async (c) => {
    await logOut(deps, c);
    // The account pages' sign-out button is a plain form post.
    if (isFormPost(c.req.header("content-type"))) return c.redirect("/", 303);
    return c.body(null, 204);
  });

  app.get("/me", authenticate(deps.auth), requireUser(), async (c) => {
    c.header("Cache-Control", "private, no-store");
    const user = await getUserById(deps.database.reader, c.var.user!.id);
    if (!user) throw new HTTPException(401, { message: "Sign in to continue" });
    return c.json({ id: user.id, email: user.email, role: user.role, name: user.name });
  });

  return app;
}

/** `/.well-known/jwks.json`: the public keys access tokens verify against. */
export function jwksRoute(deps: Pick<AuthDeps, "auth">): Hono {
  const app = new Hono();
  const body = JSON.stringify(deps.auth.tokens.jwks());
  app.get("/.well-known/jwks.json", (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.body(body, 200, { "Content-Type": "application/jwk-set+json" });
  });
  return app;
}

async function jsonBody(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}

function isFormPost(contentType: string | undefined): boolean {
  return /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(contentType ?? "");
}
