import assert from "node:assert/strict";
import type { Hono } from "hono";
import { openTestServices, type TestServices } from "../../fixtures.ts";

const ORIGIN = "http://localhost";
const CREDENTIALS = { email: "leaving@example.com", password: "correct horse" };

async function withSignedInShopper(
  env: Record<string, string>,
  fn: (shop: TestServices, session: { accessToken: string; cookie: string }) => Promise<void>,
): Promise<void> {
  const shop = await openTestServices({
    productCount: 0,
    env: { AUTH_DENYLIST_POLL_MS: "60000", ...env },
  });
  try {
    const json = { "content-type": "application/json", origin: ORIGIN };
    const body = JSON.stringify(CREDENTIALS);
    const registered = await shop.app.request(`${ORIGIN}/api/auth/register`, {
      method: "POST",
      headers: json,
      body,
    });
    assert.equal(registered.status, 202);
    const login = await shop.app.request(`${ORIGIN}/api/auth/login`, {
      method: "POST",
      headers: json,
      body,
    });
    assert.equal(login.status, 200);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("__Secure-shop_refresh"))!
      .split(";")[0];
    await fn(shop, { accessToken: (await login.json()).accessToken, cookie });
  } finally {
    await shop.close();
  }
}

function bare(app: Hono, path: string, headers: Record<string, string>) {
  return app.request(`${ORIGIN}${path}`, { method: "POST", headers });
}

async function status(response: Response | Promise<Response>): Promise<number> {
  const answered = await response;
  await answered.body?.cancel();
  return answered.status;
}

Deno.test("[auth] sign-out without a Content-Type signs the shopper out", async (t) => {
  for (
    const [name, headers] of Object.entries<Record<string, string>>({
      "no Origin (an API client, curl)": {},
      "a same-origin Origin": { origin: ORIGIN },
      "Sec-Fetch-Site: same-origin": { "sec-fetch-site": "same-origin" },
    })
  ) {
    await t.step(name, async () => {
      await withSignedInShopper({}, async ({ app }, { accessToken, cookie }) => {
        const logout = await bare(app, "/api/auth/logout", {
          cookie,
          authorization: `Bearer ${accessToken}`,
          ...headers,
        });
        assert.equal(logout.status, 204);
        const me = app.request(`${ORIGIN}/api/auth/me`, {
          headers: { authorization: `Bearer ${accessToken}` },
        });
        assert.equal(await status(me), 401, "the access token is refused");
        assert.equal(
          await status(bare(app, "/api/auth/refresh", { cookie })),
          401,
          "the refresh token is revoked",
        );
      });
    });
  }
});

Deno.test("[auth] refresh without a Content-Type rotates the token", async () => {
  await withSignedInShopper({}, async ({ app }, { cookie }) => {
    const refreshed = await bare(app, "/api/auth/refresh", { cookie });
    assert.equal(refreshed.status, 200);
    assert.ok((await refreshed.json()).accessToken);
  });
});

Deno.test("[auth] a cross-site sign-out or refresh is refused and changes nothing", async (t) => {
  const forged: Record<string, Record<string, string>> = {
    "a foreign Origin": { origin: "https://evil.example" },
    "a foreign Origin with JSON": {
      origin: "https://evil.example",
      "content-type": "application/json",
    },
    "Origin: null (a sandboxed frame)": { origin: "null" },
    "Sec-Fetch-Site: cross-site without Origin": { "sec-fetch-site": "cross-site" },
    "Sec-Fetch-Site: same-site from a sibling host": {
      "sec-fetch-site": "same-site",
      origin: "http://blog.localhost",
    },
  };
  await withSignedInShopper({}, async ({ app }, { accessToken, cookie }) => {
    for (const [name, headers] of Object.entries(forged)) {
      await t.step(name, async () => {
        for (const path of ["/api/auth/logout", "/api/auth/refresh"]) {
          const response = bare(app, path, {
            cookie,
            authorization: `Bearer ${accessToken}`,
            ...headers,
          });
          assert.equal(await status(response), 403, path);
        }
      });
    }
    await t.step("the session still works", async () => {
      const me = app.request(`${ORIGIN}/api/auth/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      assert.equal(await status(me), 200);
      assert.equal(await status(bare(app, "/api/auth/refresh", { cookie })), 200);
    });
  });
});

Deno.test("[auth] behind a trusted TLS proxy the https origin is the shop's own", async () => {
  const proxied = {
    origin: "https://shop.example",
    "x-forwarded-proto": "https",
    "content-type": "application/x-www-form-urlencoded",
  };
  const form = "email=someone%40example.com&password=long-enough";
  const post = (app: Hono) =>
    app.request("http://shop.example:8000/account/login", {
      method: "POST",
      headers: proxied,
      body: form,
    });
  await withSignedInShopper({ TRUST_PROXY: "true" }, async ({ app }) => {
    assert.equal(await status(post(app)), 401, "the form is accepted and the password checked");
  });
  await withSignedInShopper({}, async ({ app }) => {
    assert.equal(await status(post(app)), 403, "without TRUST_PROXY the header is not believed");
  });
});
