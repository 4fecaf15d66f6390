import assert from "node:assert/strict";
import type { Hono } from "hono";
import { openTestServices, type TestServices } from "../../fixtures.ts";

const ORIGIN = "http://localhost";
const CREDENTIALS = { email: "two-tabs@example.com", password: "correct horse" };

async function withSession(
  env: Record<string, string>,
  fn: (shop: TestServices, cookie: string) => Promise<void>,
): Promise<void> {
  const shop = await openTestServices({
    productCount: 0,
    env: { RATE_LIMIT_REFRESH_IP: "1000/60", ...env },
  });
  try {
    const headers = { "content-type": "application/json", origin: ORIGIN };
    const body = JSON.stringify(CREDENTIALS);
    await shop.app.request(`${ORIGIN}/api/auth/register`, { method: "POST", headers, body });
    const login = await shop.app.request(`${ORIGIN}/api/auth/login`, {
      method: "POST",
      headers,
      body,
    });
    assert.equal(login.status, 200);
    await fn(shop, refreshCookie(login)!);
  } finally {
    await shop.close();
  }
}

function refreshCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith("__Secure-shop_refresh="))
    ?.split(";")[0];
}

function refresh(app: Hono, cookie: string): Promise<Response> {
  return Promise.resolve(app.request(`${ORIGIN}/api/auth/refresh`, {
    method: "POST",
    headers: { origin: ORIGIN, cookie },
  }));
}

Deno.test("[auth] five tabs refreshing one token at once all stay signed in", async () => {
  await withSession({}, async ({ app }, cookie) => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(app, cookie)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
    for (const answer of answers) assert.ok((await answer.json()).accessToken);
    const successors = new Set(answers.map(refreshCookie));
    assert.equal(successors.size, 1, "every tab gets the same successor token");
    const [successor] = successors;
    assert.notEqual(successor, cookie);
    const next = await refresh(app, successor!);
    assert.equal(next.status, 200, "the successor was not revoked as reuse");
    await next.body?.cancel();
  });
});

Deno.test("[auth] a rotated token replayed after the grace window revokes its family", async () => {
  await withSession({ AUTH_REFRESH_GRACE_SECONDS: "1" }, async ({ app }, cookie) => {
    const rotated = await refresh(app, cookie);
    assert.equal(rotated.status, 200);
    await rotated.body?.cancel();
    const successor = refreshCookie(rotated)!;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const replay = await refresh(app, cookie);
    assert.equal(replay.status, 401, "a replay after the window is reuse");
    await replay.body?.cancel();
    const afterReplay = await refresh(app, successor);
    assert.equal(afterReplay.status, 401, "and the whole family is revoked");
    await afterReplay.body?.cancel();
  });
});

Deno.test("[auth] with no grace window, a concurrent refresh counts as reuse", async () => {
  await withSession({ AUTH_REFRESH_GRACE_SECONDS: "0" }, async ({ app }, cookie) => {
    const first = await refresh(app, cookie);
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const again = await refresh(app, cookie);
    assert.equal(again.status, 401);
    await again.body?.cancel();
  });
});
