import { Hono } from "hono";
import type { VNode } from "preact";
import { InvalidCredentialsError } from "../../edge/auth/auth.ts";
import { PasswordHasherBusyError } from "../../edge/auth/passwords.ts";
import { RateLimitedError } from "../../edge/auth/rate_limit.ts";
import {
  type AuthDeps,
  credentialsSchema,
  csrfProtection,
  logIn,
  registerAccount,
} from "./flows.ts";
import { Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";

type Mode = "login" | "register";

const COPY: Record<Mode, { title: string; button: string; other: VNode }> = {
  login: {
    title: "Sign in",
    button: "Sign in",
    other: (
      <p>
        New here? <a href="/account/register">Create an account</a>
      </p>
    ),
  },
  register: {
    title: "Create an account",
    button: "Create account",
    other: (
      <p>
        Already have an account? <a href="/account/login">Sign in</a>
      </p>
    ),
  },
};

export function AccountFormPage(
  props: { mode: Mode; email?: string; message?: string; notice?: string },
): VNode {
  const copy = COPY[props.mode];
  return (
    <Layout title={copy.title}>
      <section class="account">
        <h1>{copy.title}</h1>
        {props.notice && <p class="notice" role="status">{props.notice}</p>}
        {props.message && <p class="error" role="alert">{props.message}</p>}
        <form method="post" action={`/account/${props.mode}`}>
          <label>
            Email{" "}
            <input type="email" name="email" required autocomplete="email" value={props.email} />
          </label>
          <label>
            Password{" "}
            <input
              type="password"
              name="password"
              required
              minLength={8}
              maxLength={128}
              autocomplete={props.mode === "login" ? "current-password" : "new-password"}
            />
          </label>
          <button type="submit">{copy.button}</button>
        </form>
        {copy.other}
      </section>
    </Layout>
  );
}

/** `/account/login` and `/account/register`: server-rendered forms that post to themselves. */
export function accountPages(deps: AuthDeps): Hono {
  const app = new Hono();
  app.use("/account/*", csrfProtection(deps.auth));

  app.get("/account/login", (c) => {
    const notice = c.req.query("registered") ? "Thanks! You can sign in now." : undefined;
    return renderPage(c, AccountFormPage({ mode: "login", notice }));
  });
  app.get("/account/register", (c) => renderPage(c, AccountFormPage({ mode: "register" })));

  for (const mode of ["login", "register"] as const) {
    app.post(`/account/${mode}`, async (c) => {
      const form = await c.req.parseBody();
      const email = typeof form.email === "string" ? form.email : "";
      const parsed = credentialsSchema.safeParse({ email, password: form.password });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const message = `${issue.path[0] === "email" ? "Email" : "Password"} ${issue.message}.`;
        return renderPage(c, AccountFormPage({ mode, email, message }), 400);
      }
      try {
        if (mode === "login") {
          await logIn(deps, c, parsed.data);
          return c.redirect("/", 303);
        }
        await registerAccount(deps, c, parsed.data);
        return c.redirect("/account/login?registered=1", 303);
      } catch (error) {
        const failure = friendlyFailure(error);
        if (!failure) throw error;
        if (failure.retryAfter) c.header("Retry-After", String(failure.retryAfter));
        return renderPage(
          c,
          AccountFormPage({ mode, email, message: failure.message }),
          failure.status,
        );
      }
    });
  }

  return app;
}

function friendlyFailure(
  error: unknown,
): { status: 401 | 429 | 503; message: string; retryAfter?: number } | undefined {
  if (error instanceof InvalidCredentialsError) {
    return { status: 401, message: "That email and password don't match. Please try again." };
  }
  if (error instanceof RateLimitedError) {
    return {
      status: 429,
      message: "Too many attempts. Please wait a minute and try again.",
      retryAfter: error.retryAfterSeconds,
    };
  }
  if (error instanceof PasswordHasherBusyError) {
    return {
      status: 503,
      message: "We're very busy right now. Please try again in a moment.",
      retryAfter: error.retryAfterSeconds,
    };
  }
  return undefined;
}
