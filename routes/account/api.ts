import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { getUserById, updateUserName } from "../../db/users.ts";
import { authenticate, type AuthEnv, requireUser } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import {
  type AuthDeps,
  credentialsSchema,
  csrfProtection,
  logIn,
  logOut,
  refreshSession,
  registerAccount,
} from "./flows.ts";
import { parseJsonBody } from "../validation.ts";

const profileSchema = z.object({
  name: z.string({ error: "is required" }).trim().max(100, {
    error: "must be at most 100 characters",
  }),
});

/** Accounts over JSON: `/api/auth/register|login|refresh|logout|me`. */
export function authApi(deps: AuthDeps): Hono<AuthEnv & ReadYourWritesEnv> {
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use(csrfProtection(deps));

  app.post("/register", async (c) => {
    const credentials = await parseJsonBody(c.req.raw, credentialsSchema);
    await registerAccount(deps, c, credentials);
    // Same answer whether or not the email was already registered.
    return c.json({
      status: "accepted",
      message: "If this address can be used, you can now sign in",
    }, 202);
  });

  app.post("/login", async (c) => {
    const credentials = await parseJsonBody(c.req.raw, credentialsSchema);
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
    // Right after this shopper's own write, read the primary: the replica may not have it yet.
    const reader = deps.database.readerFor({ recentWrite: c.var.recentWrite === true });
    const user = await getUserById(reader, c.var.user!.id);
    if (!user) throw new HTTPException(401, { message: "Sign in to continue" });
    return c.json({ id: user.id, email: user.email, role: user.role, name: user.name });
  });

  app.patch("/me", authenticate(deps.auth), requireUser(), async (c) => {
    c.header("Cache-Control", "private, no-store");
    const { name } = await parseJsonBody(c.req.raw, profileSchema);
    const user = await updateUserName(deps.database.writer, c.var.user!.id, name);
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

function isFormPost(contentType: string | undefined): boolean {
  return /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(contentType ?? "");
}
