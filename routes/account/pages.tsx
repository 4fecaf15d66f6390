import { Hono } from "hono";
import type { VNode } from "preact";
import {
  type AuthDeps,
  credentialsSchema,
  csrfProtection,
  logIn,
  registerAccount,
} from "./flows.ts";
import type { Department } from "../ui/navigation.ts";
import { Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";
import { describeClientError } from "../errors.ts";
import { parseFormBody, UNREADABLE_FORM_MESSAGE } from "../validation.ts";
import { safeNextPath } from "./page_shopper.ts";

type Mode = "login" | "register";

const COPY: Record<Mode, { title: string; button: string; other: (query: string) => VNode }> = {
  login: {
    title: "Sign in",
    button: "Sign in",
    other: (query) => (
      <p>
        New here? <a href={`/account/register${query}`}>Create an account</a>
      </p>
    ),
  },
  register: {
    title: "Create an account",
    button: "Create account",
    other: (query) => (
      <p>
        Already have an account? <a href={`/account/login${query}`}>Sign in</a>
      </p>
    ),
  },
};

/** Which field an inline error belongs to; others show above the form. */
type Field = "email" | "password";

export function AccountFormPage(
  props: {
    mode: Mode;
    email?: string;
    message?: string;
    field?: Field;
    notice?: string;
    departments?: Department[];
    /** Where to go after signing in (a path on this shop). */
    next?: string;
  },
): VNode {
  const copy = COPY[props.mode];
  const next = props.next && props.next !== "/" ? props.next : undefined;
  const query = next ? `?next=${encodeURIComponent(next)}` : "";
  const fieldError = (field: Field) =>
    props.message && props.field === field
      ? <p class="field-error" id={`${field}-error`}>{props.message}</p>
      : null;
  const invalid = (field: Field) =>
    props.message && props.field === field
      ? { "aria-invalid": "true" as const, "aria-describedby": `${field}-error ${field}-hint` }
      : { "aria-describedby": `${field}-hint` };
  return (
    <Layout title={copy.title} departments={props.departments}>
      <section class="account">
        <h1>{copy.title}</h1>
        {props.notice && <p class="notice" role="status">{props.notice}</p>}
        {props.message && !props.field && <p class="alert" role="alert">{props.message}</p>}
        {props.message && props.field && <p class="visually-hidden" role="alert">{props.message}
        </p>}
        <form method="post" action={`/account/${props.mode}`}>
          {next && <input type="hidden" name="next" value={next} />}
          <div class="field">
            <label for="email">Email</label>
            <p class="hint" id="email-hint">
              The address you {props.mode === "login" ? "registered with" : "will sign in with"}.
            </p>
            <input
              id="email"
              type="email"
              name="email"
              required
              autocomplete="email"
              maxLength={254}
              value={props.email}
              {...invalid("email")}
            />
            {fieldError("email")}
          </div>
          <div class="field">
            <label for="password">Password</label>
            <p class="hint" id="password-hint">
              {props.mode === "register"
                ? "At least 8 characters (up to 128). A few words make a strong one."
                : "At least 8 characters."}
            </p>
            <input
              id="password"
              type="password"
              name="password"
              required
              minLength={8}
              maxLength={128}
              autocomplete={props.mode === "login" ? "current-password" : "new-password"}
              {...invalid("password")}
            />
            {fieldError("password")}
          </div>
          <button type="submit" class="button button-primary">{copy.button}</button>
        </form>
        {copy.other(query)}
      </section>
    </Layout>
  );
}

/** `/account/login` and `/account/register`: server-rendered forms that post to themselves. */
export function accountPages(
  deps: AuthDeps & { departments?: () => Promise<Department[]> },
): Hono {
  const app = new Hono();
  app.use("/account/*", csrfProtection(deps));
  // The header's category menu; the forms still work when the catalog cannot be read.
  const menu = () => deps.departments?.().catch(() => undefined);

  app.get("/account/login", async (c) => {
    const notice = c.req.query("registered") ? "Thanks! You can sign in now." : undefined;
    const next = safeNextPath(c.req.query("next"));
    return renderPage(
      c,
      AccountFormPage({ mode: "login", notice, next, departments: await menu() }),
    );
  });
  app.get(
    "/account/register",
    async (c) =>
      renderPage(
        c,
        AccountFormPage({
          mode: "register",
          next: safeNextPath(c.req.query("next")),
          departments: await menu(),
        }),
      ),
  );

  for (const mode of ["login", "register"] as const) {
    app.post(`/account/${mode}`, async (c) => {
      let form: Record<string, string>;
      try {
        form = await parseFormBody(c);
      } catch {
        return renderPage(
          c,
          AccountFormPage({ mode, message: UNREADABLE_FORM_MESSAGE, departments: await menu() }),
          400,
        );
      }
      const email = form.email ?? "";
      const next = safeNextPath(form.next);
      const parsed = credentialsSchema.safeParse({ email, password: form.password });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue.path[0] === "email" ? "email" : "password";
        const message = `${field === "email" ? "Email" : "Password"} ${issue.message}.`;
        return renderPage(
          c,
          AccountFormPage({ mode, email, message, field, next, departments: await menu() }),
          400,
        );
      }
      try {
        if (mode === "login") {
          await logIn(deps, c, parsed.data);
          return c.redirect(next, 303);
        }
        await registerAccount(deps, c, parsed.data);
        const query = next === "/" ? "" : `&next=${encodeURIComponent(next)}`;
        return c.redirect(`/account/login?registered=1${query}`, 303);
      } catch (error) {
        // Client errors are shown inline on the form, with the wording and headers every other
        // answer for them has; anything else goes to the app's error handler.
        const failure = describeClientError(error);
        if (!failure) throw error;
        for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
        return renderPage(
          c,
          AccountFormPage({
            mode,
            email,
            message: failure.message,
            next,
            departments: await menu(),
          }),
          failure.status,
        );
      }
    });
  }

  return app;
}
