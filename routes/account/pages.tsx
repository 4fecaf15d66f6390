import { Hono } from "hono";
import type { VNode } from "preact";
import {
  type AuthDeps,
  credentialsSchema,
  csrfProtection,
  logIn,
  registerAccount,
} from "./flows.ts";
import { Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";
import { describeClientError } from "../errors.ts";
import { parseFormBody, UNREADABLE_FORM_MESSAGE } from "../validation.ts";

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
  app.use("/account/*", csrfProtection(deps));

  app.get("/account/login", (c) => {
    const notice = c.req.query("registered") ? "Thanks! You can sign in now." : undefined;
    return renderPage(c, AccountFormPage({ mode: "login", notice }));
  });
  app.get("/account/register", (c) => renderPage(c, AccountFormPage({ mode: "register" })));

  for (const mode of ["login", "register"] as const) {
    app.post(`/account/${mode}`, async (c) => {
      let form: Record<string, string>;
      try {
        form = await parseFormBody(c);
      } catch {
        return renderPage(c, AccountFormPage({ mode, message: UNREADABLE_FORM_MESSAGE }), 400);
      }
      const email = form.email ?? "";
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
        // Client errors are shown inline on the form, with the wording and headers every other
        // answer for them has; anything else goes to the app's error handler.
        const failure = describeClientError(error);
        if (!failure) throw error;
        for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
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
