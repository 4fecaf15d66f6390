/**
 * The regions topology in small (tests/services/regions.ts): a primary region and two remote
 * regions 10 and 20 ms away, each remote region with its own sqld replica, and every
 * cross-region link through a delay proxy. The edges run in this process over the real services.
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { percentile } from "./bench/stats.ts";
import { openTestServices, type TestServices } from "./fixtures.ts";
import { type RegionsTopology, startRegions } from "./services/regions.ts";

const ORIGIN = "http://shop.test";
const ADMIN = { email: "admin@example.com", password: "admin-password" };
const SHOPPER = { email: "traveller@example.com", password: "traveller-password" };
const EDGE_ENV = {
  RATE_LIMIT_LOGIN_IP: "1000/60",
  RATE_LIMIT_LOGIN_ACCOUNT: "1000/60",
  RATE_LIMIT_REGISTER_IP: "1000/60",
  RATE_LIMIT_REFRESH_IP: "1000/60",
  // A cut link should cost one bounded wait, not the default 2 s.
  DATABASE_TIMEOUT_MS: "1000",
  // Generous budgets for a machine shared with a CPU hog; the links add at most 24 ms.
  DATABASE_REPLICA_TIMEOUT_MS: "1000",
  REDIS_TIMEOUT_MS: "500",
  CACHE_TIER_BUDGET_MS: "500",
};

interface Edge {
  region: string;
  shop: TestServices;
}

/** A shopper's browser: one cookie jar, whichever region answers. */
class Browser {
  readonly cookies = new Map<string, string>();
  bearer = "";

  async send(
    edge: Edge,
    method: string,
    path: string,
    options: { body?: unknown; cookies?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { origin: ORIGIN };
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.cookies !== false && this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    const response = await edge.shop.app.request(`${ORIGIN}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const [name, value] = pair.split("=");
      if (name === "last_write") this.cookies.set(name, value);
    }
    return response;
  }
}

async function startEdges(topology: RegionsTopology): Promise<Edge[]> {
  const edges: Edge[] = [];
  try {
    const [primary, ...remote] = topology.regions;
    edges.push({
      region: primary.name,
      shop: await openTestServices({
        productCount: 40,
        env: {
          ...primary.env,
          ...EDGE_ENV,
          ADMIN_EMAIL: ADMIN.email,
          ADMIN_PASSWORD: ADMIN.password,
        },
      }),
    });
    await topology.waitForReplicas("SELECT count(*) FROM products", 30_000);
    for (const region of remote) {
      edges.push({
        region: region.name,
        shop: await openTestServices({ productCount: 0, env: { ...region.env, ...EDGE_ENV } }),
      });
    }
    return edges;
  } catch (error) {
    await Promise.all(edges.map((edge) => edge.shop.close()));
    throw error;
  }
}

async function get(app: Hono, path: string) {
  const response = await app.request(`${ORIGIN}${path}`);
  return {
    status: response.status,
    body: await response.text(),
    cache: response.headers.get("x-cache"),
    timing: response.headers.get("server-timing") ?? "",
  };
}

async function slugs(app: Hono, count: number): Promise<Array<{ id: number; slug: string }>> {
  const response = await app.request(`${ORIGIN}/api/products?limit=${count}&sort=name`);
  assert.equal(response.status, 200);
  return (await response.json()).items;
}

async function login(browser: Browser, edge: Edge, credentials: typeof SHOPPER): Promise<void> {
  const response = await browser.send(edge, "POST", "/api/auth/login", { body: credentials });
  assert.equal(response.status, 200, `login through "${edge.region}"`);
  browser.bearer = (await response.json()).accessToken;
}

Deno.test("[regions] edges near shoppers, replicas near edges, over simulated distance", async (t) => {
  const topology = await startRegions({
    regions: [{ name: "near", rttMs: 0 }, { name: "mid", rttMs: 10 }, { name: "far", rttMs: 20 }],
    jitterMs: 4,
  });
  let edges: Edge[] = [];
  try {
    edges = await startEdges(topology);
    const [near, mid, far] = edges;
    const products = await slugs(near.shop.app, 20);

    await t.step("a far edge serves catalog pages from its own replica and caches", async () => {
      const path = `/p/${products[0].slug}`;
      const miss = await get(far.shop.app, path);
      assert.equal(miss.status, 200);
      assert.equal(miss.cache, "MISS");
      assert.equal(miss.timing, `edge;desc="far"`, "a miss reads the region's own replica");
      const hit = await get(far.shop.app, path);
      assert.equal(hit.cache, "L0");
      assert.equal(hit.timing, `edge;desc="far"`, "nothing leaves the region");
    });

    const shopper = new Browser();
    await t.step("a shopper registered in one region signs in through another", async () => {
      const registered = await shopper.send(far, "POST", "/api/auth/register", { body: SHOPPER });
      assert.equal(registered.status, 202);
      assert.match(registered.headers.get("server-timing")!, /primary;dur=[\d.]+;desc="1 call"/);
      await login(shopper, mid, SHOPPER);
    });

    await t.step(
      "read-your-writes: an account change through one region is seen through another at once",
      async () => {
        await topology.waitForReplicas("SELECT count(*) FROM users", 10_000);
        // The far replica stops receiving the primary's log: whatever follows is missing there.
        topology.region("far").links!.replication!.cut("blackhole");
        try {
          const changed = await shopper.send(mid, "PATCH", "/api/auth/me", {
            body: { name: "Ida Pfeiffer" },
          });
          assert.equal(changed.status, 200);
          assert.ok(shopper.cookies.has("last_write"), "the write stamps the shopper's browser");

          const own = await shopper.send(far, "GET", "/api/auth/me");
          assert.equal(own.status, 200);
          assert.equal((await own.json()).name, "Ida Pfeiffer", "the shopper sees their write");
          assert.match(own.headers.get("server-timing")!, /primary;/, "read from the primary");

          const unstamped = await shopper.send(far, "GET", "/api/auth/me", { cookies: false });
          assert.equal((await unstamped.json()).name, "", "without the stamp: the lagging replica");
        } finally {
          topology.region("far").links!.replication!.heal();
        }
      },
    );

    await t.step("an admin write reaches every region within one second at p99", async () => {
      const admin = new Browser();
      await login(admin, near, ADMIN);
      const product = products[1];
      const path = `/p/${product.slug}`;
      const propagation: number[] = [];
      for (let i = 0; i < 12; i++) {
        for (const edge of edges) assert.equal((await get(edge.shop.app, path)).status, 200);
        for (const edge of edges) await edge.shop.services.cache.settled();
        const name = `Renamed product ${i} ${crypto.randomUUID().slice(0, 6)}`;
        const written = await admin.send(near, "PATCH", `/api/admin/products/${product.id}`, {
          body: { name },
        });
        assert.equal(written.status, 200);
        const acknowledged = performance.now();
        await Promise.all(edges.map(async (edge) => {
          while (!(await get(edge.shop.app, path)).body.includes(name)) {
            assert.ok(performance.now() - acknowledged < 10_000, `"${edge.region}" never saw it`);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          propagation.push(performance.now() - acknowledged);
        }));
      }
      const sorted = propagation.sort((a, b) => a - b);
      const p99 = percentile(sorted, 99);
      console.log(
        `  invalidation to every edge: p50 ${percentile(sorted, 50).toFixed(0)} ms, ` +
          `p99 ${p99.toFixed(0)} ms (n=${sorted.length})`,
      );
      assert.ok(p99 < 1000, `p99 ${p99.toFixed(0)} ms`);
    });

    await t.step(
      "a region cut off from the primary serves its catalog and refuses writes fast with 503",
      async () => {
        const cached = `/p/${products[0].slug}`;
        const uncached = `/p/${products[5].slug}`;
        topology.cut("far", "blackhole");
        try {
          assert.equal((await get(far.shop.app, cached)).cache, "L0");
          const fromReplica = await get(far.shop.app, uncached);
          assert.equal(fromReplica.status, 200, "an uncached page comes from the region's replica");

          const rename = () => shopper.send(far, "PATCH", "/api/auth/me", { body: { name: "x" } });
          const first = await rename(); // finds out: waits DATABASE_TIMEOUT_MS once
          assert.equal(first.status, 503);
          for (let i = 0; i < 3; i++) {
            const started = performance.now();
            const refused = await rename();
            const took = performance.now() - started;
            assert.equal(refused.status, 503);
            assert.ok(Number(refused.headers.get("retry-after")) >= 1, "says when to retry");
            assert.ok(took < 250, `refused after ${took.toFixed(0)} ms, not after a timeout`);
          }
          const login = await shopper.send(far, "POST", "/api/auth/login", { body: SHOPPER });
          assert.equal(login.status, 503, "a login (a write) is refused before its hash is spent");
        } finally {
          topology.heal("far");
        }
        const healed = performance.now();
        let status = 0;
        while (status !== 200 && performance.now() - healed < 15_000) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          status = (await rename(far)).status;
        }
        assert.equal(status, 200, "writes work again once the link heals");

        function rename(edge: Edge) {
          return shopper.send(edge, "PATCH", "/api/auth/me", { body: { name: "Back home" } });
        }
      },
    );
  } finally {
    await Promise.all(edges.map((edge) => edge.shop.close()));
    await topology.stop();
  }
});
