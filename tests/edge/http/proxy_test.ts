import assert from "node:assert/strict";
import { Hono } from "hono";
import { clientAddress, rateLimitAddress } from "../../../edge/http/proxy.ts";
import { readYourWrites } from "../../../edge/http/read_your_writes.ts";

const DIRECT = { trustProxy: false, httpsOnly: false };
const PROXIED = { trustProxy: true, httpsOnly: false };
const DEPLOY = { trustProxy: false, httpsOnly: true };

/** The `last_write` cookie a successful write sets, under `proxy` settings. */
async function lastWriteCookie(
  proxy: typeof DIRECT,
  url: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const app = new Hono();
  app.use(readYourWrites({ windowMs: 10_000, proxy }));
  app.post("/write", (c) => c.text("done"));
  const response = await app.request(url, { method: "POST", headers });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("last_write="));
  assert.ok(cookie, "a successful write stamps the cookie");
  return cookie;
}

Deno.test("[proxy] the last_write cookie is Secure whenever the shopper's connection is HTTPS", async (t) => {
  await t.step("behind a trusted TLS-terminating proxy", async () => {
    const cookie = await lastWriteCookie(PROXIED, "http://shop.example/write", {
      "x-forwarded-proto": "https",
    });
    assert.match(cookie, /;\s*Secure/i);
  });
  await t.step("on Deno Deploy, whatever the URL says", async () => {
    assert.match(await lastWriteCookie(DEPLOY, "http://shop.example/write"), /;\s*Secure/i);
  });
  await t.step("on a direct https URL", async () => {
    assert.match(await lastWriteCookie(DIRECT, "https://shop.example/write"), /;\s*Secure/i);
  });
  await t.step("a forwarded header from an untrusted client changes nothing", async () => {
    const cookie = await lastWriteCookie(DIRECT, "http://shop.example/write", {
      "x-forwarded-proto": "https",
    });
    assert.doesNotMatch(cookie, /Secure/i, "plain http stays usable in development");
  });
});

Deno.test("[proxy] the client address comes from X-Forwarded-For only behind a trusted proxy", async () => {
  const app = new Hono();
  app.get("/direct", (c) => c.text(clientAddress(c, DIRECT)));
  app.get("/proxied", (c) => c.text(clientAddress(c, PROXIED)));
  const headers = { "x-forwarded-for": "6.6.6.6, 203.0.113.7" };
  const proxied = await app.request("http://shop.example/proxied", { headers });
  assert.equal(
    await proxied.text(),
    "203.0.113.7",
    "the proxy's own entry, not the client's claim",
  );
  const direct = await app.request("http://shop.example/direct", { headers });
  assert.equal(await direct.text(), "unknown", "no socket in app.request, and the header ignored");
});

Deno.test("[proxy] IPv6 rate-limit addresses are the /64 a subscriber holds", () => {
  assert.equal(rateLimitAddress("203.0.113.7"), "203.0.113.7");
  assert.equal(rateLimitAddress("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(rateLimitAddress("2001:DB8:0001:2::9"), "2001:db8:1:2::/64");
  assert.equal(rateLimitAddress("[2001:db8::1]"), "2001:db8:0:0::/64");
  assert.equal(rateLimitAddress("::1"), "0:0:0:0::/64");
  assert.equal(rateLimitAddress("::ffff:198.51.100.1"), "198.51.100.1");
});
