/**
 * Regions benchmark: what shoppers in each region wait for, with an edge and a replica in their
 * region (regional) and with one edge in the primary region serving everyone over the simulated
 * distance (origin-only), measured in one run on one topology (tests/services/regions.ts):
 *
 * - TTFB (until the response headers) p50/p95 of a cached product page, an uncached product page
 *   (a product that edge never served), a login, and, when the routes exist, a cart change and a
 *   checkout; every shopper keeps its connection alive, as a browser does;
 * - replication lag p50/p99 from a commit on the primary to visibility on each region's replica;
 * - invalidation propagation p50/p99 from an acknowledged admin write to the new version being
 *   served to a shopper of every region;
 * - the share of requests served without crossing a region (`Server-Timing` of remote edges; in
 *   origin-only every request of a remote shopper crosses).
 *
 *   deno task bench --only regions
 *   deno run -A tests/bench/regions_bench.ts [--regions us-east:0,eu-west:80,ap-southeast:160]
 *                                            [--jitter 8] [--svg .tmp/bench/regions.svg]
 */
import { createClient } from "@libsql/client";
import { type DelayProxy, startDelayProxy } from "../services/delay_proxy.ts";
import type { RegionSpec } from "../services/regions.ts";
import { ADMIN, type RunningRegions, startDevRegions } from "../tools/dev_regions.ts";
import { LOAD_ACCOUNT, RAISED_RATE_LIMITS } from "./shop_process.ts";
import { percentile } from "./stats.ts";

const SAMPLES = {
  cached: 200,
  uncached: 40,
  login: 20,
  cart: 20,
  checkout: 20,
  lag: 60,
  inval: 20,
};
const DEFAULT_REGIONS: RegionSpec[] = [
  { name: "us-east", rttMs: 0 },
  { name: "eu-west", rttMs: 80 },
  { name: "ap-southeast", rttMs: 160 },
];

export type Mode = "regional" | "origin-only";
export const MODES: readonly Mode[] = ["regional", "origin-only"];
export const REQUEST_KINDS = ["cached", "uncached", "login", "cart", "checkout"] as const;
export type RequestKind = typeof REQUEST_KINDS[number];

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

export interface ModeFigures {
  ttfb: Partial<Record<RequestKind, Percentiles>>;
  /** Invalidation propagation to this region's shoppers. */
  invalidation?: Percentiles;
  /** Requests served without crossing a region, of those measured above. */
  local: { served: number; total: number };
}

export interface RegionFigures {
  name: string;
  rttMs: number;
  /** Commit on the primary → visible on this region's replica (remote regions). */
  replicationLag?: Percentiles;
  modes: Record<Mode, ModeFigures>;
}

export interface RegionsBenchResult {
  jitterMs: number;
  regions: RegionFigures[];
  /** Why a figure is missing (routes not there yet, a refused request shape). */
  notes: string[];
}

/** Where a shopper of one region sends requests in one mode. */
interface AccessPoint {
  region: string;
  rttMs: number;
  mode: Mode;
  url: string;
}

interface Sample {
  ms: number;
  status: number;
  crossed: boolean;
  body: string;
}

/** Sends one request; TTFB is the time until the headers arrive. */
async function timed(point: AccessPoint, path: string, init: RequestInit = {}): Promise<Sample> {
  const started = performance.now();
  const response = await fetch(`${point.url}${path}`, init);
  const ms = performance.now() - started;
  const body = await response.text();
  const timing = response.headers.get("server-timing") ?? "";
  // A remote shopper of the origin-only edge crosses on every request; a remote edge names its
  // own crossings in Server-Timing.
  const crossed = (point.mode === "origin-only" && point.rttMs > 0) ||
    /(^|,\s*)(primary|redis);/.test(timing);
  return { ms, status: response.status, crossed, body };
}

function summarize(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    n: sorted.length,
  };
}

/** Runs `count` requests one after another; fails on an unexpected status. */
async function series(
  count: number,
  send: (i: number) => Promise<Sample>,
  expect: number[],
): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const sample = await send(i);
    if (!expect.includes(sample.status)) {
      throw new Error(`Answered ${sample.status}: ${sample.body.slice(0, 300)}`);
    }
    samples.push(sample);
  }
  return samples;
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", origin: "http://localhost", ...headers },
  body: JSON.stringify(body),
});

/** The catalog's products in name order, with a variant id each (for cart lines). */
async function catalog(url: string, count: number): Promise<Array<{ id: number; slug: string }>> {
  const items: Array<{ id: number; slug: string }> = [];
  let cursor = "";
  while (items.length < count) {
    const response = await fetch(`${url}/api/products?limit=100&in_stock=true${cursor}`);
    const page = await response.json() as { items: typeof items; nextCursor: string | null };
    items.push(...page.items);
    if (!page.nextCursor) break;
    cursor = `&cursor=${encodeURIComponent(page.nextCursor)}`;
  }
  return items;
}

async function login(point: AccessPoint, account: typeof LOAD_ACCOUNT): Promise<Sample> {
  return await timed(point, "/api/auth/login", json(account));
}

/** Whether `POST path` exists on the shop (anything but 404). */
async function routeExists(url: string, path: string): Promise<boolean> {
  const response = await fetch(`${url}${path}`, json({}));
  await response.body?.cancel();
  return response.status !== 404;
}

/** A variant id of each product, read once from the product JSON. */
async function variantIds(url: string, slugs: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const slug of slugs) {
    const product = await (await fetch(`${url}/api/products/${slug}`)).json();
    const variant = product.variants?.find((v: { stock?: number }) => (v.stock ?? 1) > 0) ??
      product.variants?.[0];
    if (variant?.id) ids.push(variant.id);
  }
  return ids;
}

interface BuyingPath {
  cart: boolean;
  checkout: boolean;
  variants: number[];
  shippingOption?: string;
}

/** Detects the buying path's routes; explains in `notes` what is skipped. */
async function detectBuyingPath(
  url: string,
  slugs: string[],
  notes: string[],
): Promise<BuyingPath> {
  const cart = await routeExists(url, "/api/cart/items");
  const checkout = await routeExists(url, "/api/checkout");
  if (!cart) notes.push("cart change skipped: POST /api/cart/items answers 404 (not merged yet)");
  if (!checkout) notes.push("checkout skipped: POST /api/checkout answers 404 (not merged yet)");
  if (!cart && !checkout) return { cart, checkout, variants: [] };
  const options: { shippingOptions?: Array<{ id: string }> } = await fetch(
    `${url}/api/checkout/options`,
  ).then((r) => r.ok ? r.json() : {}).catch(() => ({}));
  return {
    cart,
    checkout,
    variants: await variantIds(url, slugs),
    shippingOption: options.shippingOptions?.[0]?.id,
  };
}

const ADDRESS = {
  name: "Bench Shopper",
  line1: "1 Test Street",
  city: "Dublin",
  postalCode: "D01 F5P2",
  country: "IE",
};

/** Adds one line to the signed-in shopper's cart. */
function cartChange(point: AccessPoint, token: string, variantId: number): Promise<Sample> {
  return timed(point, "/api/cart/items", json({ variantId, quantity: 1 }, bearer(token)));
}

/** Fills the cart (not timed), then times the checkout. */
async function checkout(
  point: AccessPoint,
  token: string,
  variantId: number,
  shippingOption: string | undefined,
): Promise<Sample> {
  const added = await cartChange(point, token, variantId);
  if (added.status >= 400) return added;
  return await timed(
    point,
    "/api/checkout",
    json(
      { shippingAddress: ADDRESS, shippingOption },
      { ...bearer(token), "idempotency-key": crypto.randomUUID() },
    ),
  );
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** TTFB figures for one shopper access point. */
async function measurePoint(
  point: AccessPoint,
  context: {
    cachedSlug: string;
    uncachedSlugs: string[];
    buying: BuyingPath;
    variantOffset: number;
    notes: string[];
  },
): Promise<ModeFigures> {
  const all: Sample[] = [];
  const ttfb: ModeFigures["ttfb"] = {};
  const record = (kind: RequestKind, samples: Sample[]) => {
    ttfb[kind] = summarize(samples.map((s) => s.ms));
    all.push(...samples);
  };
  await timed(point, `/p/${context.cachedSlug}`); // the edge caches it; the connection opens
  record(
    "cached",
    await series(SAMPLES.cached, () => timed(point, `/p/${context.cachedSlug}`), [200]),
  );
  record(
    "uncached",
    await series(
      context.uncachedSlugs.length,
      (i) => timed(point, `/p/${context.uncachedSlugs[i]}`),
      [200],
    ),
  );
  const logins = await series(SAMPLES.login, () => login(point, LOAD_ACCOUNT), [200]);
  record("login", logins);
  const token = JSON.parse(logins.at(-1)!.body).accessToken as string;
  const { buying } = context;
  const variant = (i: number) =>
    buying.variants[(context.variantOffset + i) % buying.variants.length];
  const tryKind = async (
    kind: RequestKind,
    count: number,
    send: (i: number) => Promise<Sample>,
  ) => {
    try {
      record(kind, await series(count, send, [200, 201]));
    } catch (error) {
      context.notes.push(
        `${kind} skipped for ${point.region} ${point.mode}: ${(error as Error).message}`,
      );
    }
  };
  // One account serves every access point: start each series from an empty cart.
  const emptyCart = () => timed(point, "/api/cart", { method: "DELETE", headers: bearer(token) });
  if (buying.cart && buying.variants.length > 0) {
    await emptyCart();
    await tryKind("cart", SAMPLES.cart, (i) => cartChange(point, token, variant(i)));
  }
  if (buying.checkout && buying.variants.length > 0) {
    await emptyCart();
    await tryKind(
      "checkout",
      SAMPLES.checkout,
      (i) => checkout(point, token, variant(i), buying.shippingOption),
    );
  }
  return { ttfb, local: { served: all.filter((s) => !s.crossed).length, total: all.length } };
}

/** Commit on the primary → visible on each remote region's replica. */
async function measureReplicationLag(running: RunningRegions): Promise<Map<string, Percentiles>> {
  const primary = createClient({ url: running.topology.sqldPrimary.httpUrl });
  const replicas = running.topology.regions.filter((r) => r.replica).map((r) => ({
    name: r.name,
    client: createClient({ url: r.replica!.httpUrl }),
  }));
  try {
    await primary.execute("CREATE TABLE IF NOT EXISTS bench_lag (id INTEGER PRIMARY KEY)");
    const lags = new Map(replicas.map((r) => [r.name, [] as number[]]));
    for (let id = 1; id <= SAMPLES.lag; id++) {
      await primary.execute({ sql: "INSERT INTO bench_lag (id) VALUES (?)", args: [id] });
      const committed = performance.now();
      await Promise.all(replicas.map(async ({ name, client }) => {
        while (true) {
          const rows = await client.execute({
            sql: "SELECT 1 FROM bench_lag WHERE id = ?",
            args: [id],
          })
            .then((r) => r.rows.length, () => 0);
          if (rows > 0) break;
          if (performance.now() - committed > 30_000) {
            throw new Error(`${name} never saw row ${id}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        lags.get(name)!.push(performance.now() - committed);
      }));
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
    return new Map([...lags].map(([name, values]) => [name, summarize(values)]));
  } finally {
    primary.close();
    for (const { client } of replicas) client.close();
  }
}

/** Acknowledged admin rename → the new name served at every access point of one mode. */
async function measureInvalidation(
  points: AccessPoint[],
  admin: { url: string; token: string },
  product: { id: number; slug: string },
): Promise<Map<string, Percentiles>> {
  const path = `/p/${product.slug}`;
  const delays = new Map(points.map((p) => [p.region, [] as number[]]));
  for (let i = 0; i < SAMPLES.inval; i++) {
    for (const point of points) await timed(point, path); // cached everywhere before the write
    const name = `Regions bench ${i} ${crypto.randomUUID().slice(0, 8)}`;
    const response = await fetch(`${admin.url}/api/admin/products/${product.id}`, {
      ...json({ name }, bearer(admin.token)),
      method: "PATCH",
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`Admin rename answered ${response.status}`);
    const acknowledged = performance.now();
    await Promise.all(points.map(async (point) => {
      while (!(await timed(point, path)).body.includes(name)) {
        if (performance.now() - acknowledged > 30_000) {
          throw new Error(`${point.region} never saw it`);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      delays.get(point.region)!.push(performance.now() - acknowledged);
    }));
    // Writes land at random points of the edges' poll cycles, as in production.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 250));
  }
  return new Map([...delays].map(([region, values]) => [region, summarize(values)]));
}

/** Starts the topology, measures both modes in every region, and stops everything. */
export async function benchRegions(
  options: { regions?: RegionSpec[]; jitterMs?: number } = {},
): Promise<RegionsBenchResult> {
  const regions = options.regions ?? DEFAULT_REGIONS;
  const jitterMs = options.jitterMs ?? 8;
  const running = await startDevRegions(
    { regions, jitterMs, replica: "sqld", port: 0 },
    { env: { ...RAISED_RATE_LIMITS, LOG_LEVEL: "warn" } },
  );
  const links: DelayProxy[] = [];
  try {
    const primaryUrl = running.edges[0].url;
    // Origin-only: the primary region's edge, reached over each remote region's distance.
    for (const region of regions.slice(1)) {
      const targetPort = Number(new URL(primaryUrl).port);
      links.push(await startDelayProxy({ targetPort, rttMs: region.rttMs, jitterMs }));
    }
    const points = (mode: Mode): AccessPoint[] =>
      regions.map((r, i) => ({
        region: r.name,
        rttMs: r.rttMs,
        mode,
        url: mode === "regional" ? running.edges[i].url : i === 0 ? primaryUrl : links[i - 1].url,
      }));
    const registered = await fetch(`${primaryUrl}/api/auth/register`, json(LOAD_ACCOUNT));
    await registered.body?.cancel();
    await running.topology.waitForReplicas("SELECT count(*) FROM users");
    const notes: string[] = [];
    const perPoint = SAMPLES.uncached;
    const products = await catalog(primaryUrl, 3 + regions.length * 2 * perPoint + 200);
    const buying = await detectBuyingPath(
      primaryUrl,
      products.slice(-200).map((p) => p.slug),
      notes,
    );
    const figures = regions.map((
      r,
    ) => ({ name: r.name, rttMs: r.rttMs, modes: {} } as RegionFigures));
    let slice = 3;
    for (const [i] of regions.entries()) {
      for (const mode of MODES) {
        const uncachedSlugs = products.slice(slice, slice += perPoint).map((p) => p.slug);
        figures[i].modes[mode] = await measurePoint(points(mode)[i], {
          cachedSlug: products[0].slug,
          uncachedSlugs,
          buying,
          variantOffset: slice,
          notes,
        });
      }
    }
    const lag = await measureReplicationLag(running);
    for (const region of figures) region.replicationLag = lag.get(region.name);
    const adminLogin = await fetch(`${primaryUrl}/api/auth/login`, json(ADMIN));
    const admin = { url: primaryUrl, token: (await adminLogin.json()).accessToken as string };
    for (const [m, mode] of MODES.entries()) {
      const delays = await measureInvalidation(points(mode), admin, products[1 + m]);
      for (const region of figures) region.modes[mode].invalidation = delays.get(region.name);
    }
    return { jitterMs, regions: figures, notes: [...new Set(notes)] };
  } finally {
    await Promise.all(links.map((link) => link.stop()));
    await running.stop();
  }
}

const ms = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value)
    ? "—"
    : value < 10
    ? value.toFixed(2)
    : value.toFixed(0);
const pair = (p?: Percentiles, hi: "p95" | "p99" = "p95") =>
  p ? `${ms(p.p50)} / ${ms(p[hi])}` : "—";

/** The result as the table the CLI prints (ms, p50 / p95 or p99). */
export function formatRegions(result: RegionsBenchResult): string {
  const columns = ["cached", "uncached", "login", "cart", "checkout"] as const;
  const header = [
    "region (RTT)".padEnd(20),
    "mode".padEnd(12),
    ...columns.map((c) => c.padStart(15)),
    "repl lag p50/p99".padStart(17),
    "inval p50/p99".padStart(15),
    "local".padStart(7),
  ].join("");
  const lines = [
    `TTFB in ms, p50 / p95 (keep-alive connections); lag and invalidation p50 / p99; jitter ±${
      result.jitterMs / 2
    } ms`,
    header,
  ];
  for (const region of result.regions) {
    for (const mode of MODES) {
      const f = region.modes[mode];
      const lag = mode === "regional" ? pair(region.replicationLag, "p99") : "—";
      lines.push([
        (mode === "regional" ? `${region.name} (${region.rttMs} ms)` : "").padEnd(20),
        mode.padEnd(12),
        ...columns.map((c) => pair(f.ttfb[c]).padStart(15)),
        lag.padStart(17),
        pair(f.invalidation, "p99").padStart(15),
        `${Math.round((100 * f.local.served) / Math.max(1, f.local.total))}%`.padStart(7),
      ].join(""));
    }
    const gain = columns.map((c) => {
      const regional = region.modes.regional.ttfb[c]?.p50;
      const origin = region.modes["origin-only"].ttfb[c]?.p50;
      return (regional && origin ? `${(origin / regional).toFixed(1)}×` : "—").padStart(15);
    });
    lines.push(["".padEnd(20), "p50 gain".padEnd(12), ...gain].join(""));
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

function argValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

if (import.meta.main) {
  const regionsArg = argValue(Deno.args, "--regions");
  const regions = regionsArg?.split(",").map((part) => {
    const [name, rtt] = part.split(":");
    return { name, rttMs: Number(rtt) };
  });
  const jitter = argValue(Deno.args, "--jitter");
  const result = await benchRegions({ regions, jitterMs: jitter ? Number(jitter) : undefined });
  console.log(formatRegions(result));
  const svg = argValue(Deno.args, "--svg") ?? ".tmp/bench/regions.svg";
  await Deno.mkdir(svg.replace(/[^/]*$/, "") || ".", { recursive: true });
  // Imported here: the chart module imports this one.
  const { renderRegionsChart } = await import("./regions_chart.ts");
  await Deno.writeTextFile(svg, renderRegionsChart(result));
  console.log(`chart: ${svg}`);
  Deno.exit(0);
}
