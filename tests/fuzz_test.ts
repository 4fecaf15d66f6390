/**
 * A few thousand generated malformed requests over every route, against the real app (createApp
 * over a real libSQL file and Deno KV): no answer is a 5xx, no body shows a stack or an internal
 * path, nothing is logged as an internal failure, and the catalog (products, variants,
 * inventory) is byte-for-byte what it was.
 *
 * Seeded: the seed is printed, and `FUZZ_SEED=<seed> deno test -A --unstable-kv tests/fuzz_test.ts`
 * sends the same requests again. `FUZZ_REQUESTS` changes how many (default 3000).
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { asc } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { inventory, products, variants } from "../db/schema.ts";
import { createLogger } from "../edge/platform/log.ts";
import { openTestServices } from "./fixtures.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0]);
const REQUESTS = Number(Deno.env.get("FUZZ_REQUESTS") ?? 3000);
const ORIGIN = "http://localhost";
const ADMIN = { email: "fuzz-admin@example.com", password: "fuzz-admin-password" };
const CUSTOMER = { email: "fuzz-shopper@example.com", password: "fuzz-shopper-password" };
const METRICS_TOKEN = "fuzz-metrics-token-0123456789";

/** mulberry32: a small, fast, seedable generator; the same seed gives the same requests. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Random = ReturnType<typeof generator>;

/** Strings that have broken parsers somewhere: encodings, controls, huge and odd numbers. */
const NASTY = [
  "",
  " ",
  "%",
  "%00",
  "%0A%0D",
  "%ZZ",
  "%C0%AF",
  "%E0%A4%A",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f",
  "\u00e9".repeat(100),
  "\u{1F600}",
  "\uFEFF",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  '"; DROP TABLE products; --',
  "${7*7}",
  "__proto__",
  "constructor",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e999",
  "-1e999",
  "9007199254740993",
  "-0",
  "0x10",
  "1_000",
  "1.5",
  "12.345",
  "99999999999999999999",
  "-1",
  "0",
  " 5 ",
  "[]",
  "{}",
  "a".repeat(5000),
];

/** FTS5 syntax a shopper could type into the search box, valid and not. */
const FTS = [
  '"unterminated',
  "AND",
  "OR OR",
  "NOT tent",
  "tent*",
  "*",
  "NEAR(tent shirt",
  "NEAR(a b, -1)",
  "name:tent",
  "brand:",
  "^tent",
  "-tent",
  "(tent",
  "tent)",
  "a:b:c",
  "{name brand}: x",
  '""',
  "'",
  "\\",
  "tent + shirt",
  "é".repeat(100),
  "x".repeat(101),
];

function nasty(r: Random): string {
  return r.pick(NASTY);
}

/** A cursor: a real one, or base64url of JSON that is not what the sort expects. */
function cursor(r: Random, realCursors: string[]): string {
  const json = r.pick([
    "[1e999,1]",
    "[-1e999,1]",
    "[1,1e999]",
    "[NaN,1]",
    '["x",1]',
    "[1]",
    "[1,2,3]",
    "[[1],1]",
    '[{"a":1},1]',
    "[null,null]",
    '[1,"1"]',
    "[1,1.5]",
    "[9007199254740993,1]",
    '"string"',
    "{}",
    "[",
    "",
    '["' + "z".repeat(150) + '",1]',
  ]);
  if (realCursors.length > 0 && r.chance(0.2)) {
    const real = r.pick(realCursors);
    return r.chance(0.5) ? real.slice(0, r.int(real.length)) : real;
  }
  if (r.chance(0.15)) return nasty(r);
  return base64url.encode(json);
}

function listingQuery(r: Random, realCursors: string[]): string {
  const params: Array<[string, string]> = [];
  const count = r.int(5);
  for (let i = 0; i < count; i++) {
    const name = r.pick([
      "limit",
      "sort",
      "cursor",
      "min_price",
      "max_price",
      "in_stock",
      "q",
      "category",
      nasty(r),
    ]);
    const value = name === "cursor"
      ? cursor(r, realCursors)
      : name === "sort"
      ? r.pick(["featured", "price_asc", "price_desc", "newest", "name", nasty(r)])
      : name === "q"
      ? r.pick([...FTS, nasty(r)])
      : name === "in_stock"
      ? r.pick(["true", "false", "1", "0", "on", "yes", nasty(r)])
      : name === "limit"
      ? r.pick(["1", "24", "100", "101", nasty(r)])
      : nasty(r);
    params.push([name, value]);
  }
  // Raw, not URLSearchParams: malformed escapes must reach the app as they are.
  return params.map(([name, value]) => `${escapeLoosely(name)}=${escapeLoosely(value)}`).join(
    "&",
  );
}

/** Escapes what a URL cannot carry at all, leaving `%` sequences (valid or not) alone. */
function escapeLoosely(value: string): string {
  return value.replace(/[^A-Za-z0-9%\-._~!$'()*+,;:@/?=]/gu, (c) => encodeURIComponent(c));
}

function slug(r: Random, slugs: string[]): string {
  return r.chance(0.3) ? r.pick(slugs) : escapeLoosely(nasty(r)) || "x";
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-16",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "multipart/form-data; boundary=",
  `multipart/form-data; boundary=${"b".repeat(5000)}`,
  "multipart/form-data; boundary=xyz",
  "text/plain",
  "a/b; c=",
  ";;;",
  "application/json; boundary=x",
];

function body(r: Random): string | Uint8Array<ArrayBuffer> {
  return r.pick<() => string | Uint8Array<ArrayBuffer>>([
    () => "",
    () => "{",
    () => "null",
    () => "[]",
    () => '"string"',
    () => "\uFEFF{}",
    () => JSON.stringify({ email: nasty(r), password: nasty(r) }),
    () => JSON.stringify({ email: 42, password: ["x"] }),
    () => JSON.stringify({ email: "a@b.co", password: { toString: 1 } }),
    () => `{"__proto__":{"admin":true},"email":"x@y.z","password":"long enough"}`,
    () => "[".repeat(100_000) + "]".repeat(100_000),
    () => JSON.stringify({ name: nasty(r) }),
    () => JSON.stringify({ variants: [{ variantId: nasty(r), priceMinor: nasty(r) }] }),
    () => JSON.stringify({ variants: [{ variantId: 1e999, onHand: -1 }] }),
    () => `email=${escapeLoosely(nasty(r))}&password=${escapeLoosely(nasty(r))}`,
    () => "email=a%40b.co&email=c%40d.co&password=%ZZ",
    () => '--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--xyz--',
    () => '--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\nunterminated',
    () => crypto.getRandomValues(new Uint8Array(64)),
    () => "x".repeat(70_000), // over the body limit
  ])();
}

/** Header oddities on top of whatever the request already carries. */
function oddHeaders(r: Random, tokens: Tokens): Record<string, string> {
  const headers: Record<string, string> = {};
  const count = r.int(4);
  for (let i = 0; i < count; i++) {
    const [name, value] = r.pick<() => [string, string]>([
      () => ["authorization", r.pick(["Bearer", "Bearer ", "Basic x", "bearer a.b.c", ""])],
      () => ["authorization", `Bearer ${tokens.forged}`],
      () => ["authorization", `Bearer ${tokens.customer}`],
      () => ["authorization", `Bearer ${tokens.customer.slice(0, -3)}abc`],
      () => ["cookie", r.pick(["a", "=", ";;", "__Secure-shop_refresh=%ZZ", "last_write=1e999"])],
      () => ["cookie", `__Secure-shop_refresh=${"r".repeat(4000)}`],
      () => ["if-none-match", r.pick(["*", 'W/"x"', '"', ",,,", "W/"])],
      () => [
        "accept-encoding",
        r.pick(["gzip;q=nan", "*;q=0", "br, gzip, zstd", "x".repeat(3000)]),
      ],
      () => ["content-encoding", r.pick(["gzip", "br", "identity", "x"])],
      () => ["origin", r.pick(["null", "https://evil.example", ORIGIN, "%", ""])],
      () => ["sec-fetch-site", r.pick(["cross-site", "same-origin", "none", "bogus"])],
      () => ["x-request-id", r.pick(["x".repeat(5000), 'a"b', "id with space", "ok-1"])],
      () => ["x-forwarded-for", r.pick(["1.2.3.4", "::1", "garbage", ", ,"])],
      () => ["x-forwarded-proto", r.pick(["https", "ftp", ""])],
      () => ["range", r.pick(["bytes=0-1", "bytes=-1", "bytes=x"])],
      () => ["accept", r.pick(["application/json", "*/*;q=x", "text/html"])],
    ])();
    headers[name] = value;
  }
  return headers;
}

interface Tokens {
  admin: string;
  customer: string;
  forged: string;
}

interface Corpus {
  slugs: string[];
  categories: string[];
  productIds: number[];
  cursors: string[];
}

/** One generated request over a randomly chosen route. */
function fuzzRequest(r: Random, tokens: Tokens, corpus: Corpus): FuzzRequest {
  const method = r.chance(0.7)
    ? "GET"
    : r.pick(["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FUZZ"]);
  const headers = oddHeaders(r, tokens);
  const withBody = (request: FuzzRequest): FuzzRequest => {
    if (request.method === "GET" || request.method === "HEAD") return request;
    request.body = body(r);
    // Mostly same-origin, so the bodies get past the cross-site check to the parsers.
    if (r.chance(0.7)) request.headers.origin = ORIGIN;
    if (r.chance(0.9)) request.headers["content-type"] ??= r.pick(CONTENT_TYPES);
    return request;
  };
  const q = () => listingQuery(r, corpus.cursors);
  const route = r.pick<() => FuzzRequest>([
    () => ({ method, path: `/?${q()}`, headers }),
    () => ({
      method,
      path: `/c/${r.chance(0.5) ? r.pick(corpus.categories) : slug(r, [])}?${q()}`,
      headers,
    }),
    () => ({ method, path: `/p/${slug(r, corpus.slugs)}`, headers }),
    () => ({ method, path: `/search?${q()}&q=${escapeLoosely(r.pick(FTS))}`, headers }),
    () => ({ method, path: `/api/categories?${q()}`, headers }),
    () => ({ method, path: `/api/products?${q()}`, headers }),
    () => ({ method, path: `/api/products/${slug(r, corpus.slugs)}`, headers }),
    () =>
      withBody({
        method: r.chance(0.8) ? "POST" : method,
        path: `/api/auth/${r.pick(["register", "login", "refresh", "logout", "me", nasty(r)])}`,
        headers,
      }),
    () =>
      withBody({
        method: r.chance(0.8) ? "POST" : method,
        path: `/account/${r.pick(["login", "register", "logout", nasty(r)])}`,
        headers,
      }),
    () => adminRequest(r, tokens, corpus, headers),
    () => ({ method, path: "/.well-known/jwks.json", headers }),
    () => ({
      method,
      path: `/static/${r.pick(["app.css", "favicon.svg", "img/product-1.svg", "build"])}/${
        escapeLoosely(nasty(r))
      }`,
      headers,
    }),
    () => ({ method, path: r.pick(["/healthz", "/readyz", "/metrics"]), headers }),
    () => ({ method, path: `/${escapeLoosely(nasty(r))}/${escapeLoosely(nasty(r))}`, headers }),
  ]);
  return route();
}

/**
 * Admin writes: a customer's or forged token (refused), or the admin's own token with a body
 * that can never be a valid change (an unknown field, which the strict schemas refuse) or on a
 * product that does not exist, so the catalog must stay as it was.
 */
function adminRequest(
  r: Random,
  tokens: Tokens,
  corpus: Corpus,
  headers: Record<string, string>,
): FuzzRequest {
  const asAdmin = r.chance(0.6);
  const id = asAdmin && r.chance(0.3)
    ? r.pick(["0", "999999999", "1e3", "-1", escapeLoosely(nasty(r))])
    : String(r.pick(corpus.productIds));
  const suffix = r.pick(["", "/price", "/stock", "/" + escapeLoosely(nasty(r))]);
  let payload: unknown = r.pick<() => unknown>([
    () => ({ name: nasty(r) }),
    () => ({ variants: [{ variantId: r.int(1000), priceMinor: r.int(10_000) }] }),
    () => ({ variants: [{ variantId: r.int(1000), onHand: r.int(10_000) }] }),
    () => ({ isActive: false }),
  ])();
  const neverValid = asAdmin && !/^(0|999999999|1e3|-1)$/.test(id);
  if (neverValid) payload = { ...(payload as object), fuzzUnknownField: true };
  return {
    method: r.pick(["PATCH", "PUT", "PUT", "POST", "DELETE", "GET"]),
    path: `/api/admin/products/${id}${suffix}`,
    headers: {
      ...headers,
      authorization: `Bearer ${asAdmin ? tokens.admin : r.pick([tokens.customer, tokens.forged])}`,
      "content-type": r.chance(0.9) ? "application/json" : r.pick(CONTENT_TYPES),
    },
    body: r.chance(0.9) ? JSON.stringify(payload) : body(r),
  };
}

/** SHA-256 of every product, variant and inventory row, in id order. */
async function catalogChecksum(db: Db): Promise<string> {
  const rows = [
    await db.select().from(products).orderBy(asc(products.id)),
    await db.select().from(variants).orderBy(asc(variants.id)),
    await db.select().from(inventory).orderBy(asc(inventory.variantId)),
  ];
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(rows)),
  );
  return base64url.encode(new Uint8Array(digest));
}

/** Text of a body, gunzipped when it was sent compressed. */
async function bodyText(response: Response): Promise<string> {
  if (!response.body) return "";
  const stream = response.headers.get("content-encoding") === "gzip"
    ? response.body.pipeThrough(new DecompressionStream("gzip"))
    : response.body;
  return await new Response(stream).text();
}

const LEAKS = [
  /\n\s+at [^\n]*:\d+:\d+/, // a stack frame
  /file:\/\//,
  /\/work\//,
  /node_modules/,
  /DrizzleQueryError|LibsqlError|SQLITE_[A-Z]+|SqliteError/,
  /Failed query:/,
];

async function login(app: { request: typeof fetch }, credentials: object): Promise<string> {
  const response = await app.request(`${ORIGIN}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: ORIGIN },
    body: JSON.stringify(credentials),
  });
  assert.equal(response.status, 200);
  return (await response.json()).accessToken;
}

Deno.test(`[fuzz] ${REQUESTS} malformed requests: no 5xx, no stack, no change to the catalog (seed ${SEED})`, async () => {
  console.log(`  fuzz seed ${SEED}: reproduce with FUZZ_SEED=${SEED}`);
  const logged: Record<string, unknown>[] = [];
  const logger = createLogger("warn", { write: (line) => logged.push(JSON.parse(line)) });
  const shop = await openTestServices({
    productCount: 60,
    logger,
    env: {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      METRICS_TOKEN,
      AUTH_DENYLIST_POLL_MS: "60000",
    },
  });
  try {
    const app = {
      request: (input: RequestInfo | URL, init?: RequestInit) =>
        Promise.resolve(shop.app.request(input, init)),
    } as { request: typeof fetch };
    await app.request(`${ORIGIN}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN },
      body: JSON.stringify(CUSTOMER),
    });
    const customer = await login(app, CUSTOMER);
    const tokens: Tokens = {
      admin: await login(app, ADMIN),
      customer,
      // The customer's claims, promoted to admin, signed by nobody.
      forged: `${base64url.encode('{"alg":"none","typ":"JWT"}')}.${customer.split(".")[1]}.`,
    };
    const listing = await (await app.request(`${ORIGIN}/api/products?limit=60`)).json();
    const categories = await (await app.request(`${ORIGIN}/api/categories`)).json();
    const corpus: Corpus = {
      slugs: listing.items.map((p: { slug: string }) => p.slug),
      productIds: listing.items.map((p: { id: number }) => p.id),
      categories: categories.items.map((c: { slug: string }) => c.slug),
      cursors: [],
    };
    for (const sort of ["featured", "price_asc", "name"]) {
      const page = await (await app.request(`${ORIGIN}/api/products?limit=2&sort=${sort}`)).json();
      corpus.cursors.push(page.nextCursor);
    }
    const before = await catalogChecksum(shop.services.database.writer);

    const r = generator(SEED);
    const statuses = new Map<number, number>();
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const request = fuzzRequest(r, tokens, corpus);
      const describe = () =>
        `request #${i} (FUZZ_SEED=${SEED}): ${request.method} ${request.path.slice(0, 300)} ` +
        `headers ${JSON.stringify(request.headers).slice(0, 300)} body ${
          String(request.body ?? "").slice(0, 200)
        }`;
      let response: Response;
      try {
        response = await app.request(`${ORIGIN}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        });
      } catch (error) {
        // The Request constructor refusing a generated value is not a request the shop sees.
        if (error instanceof TypeError) continue;
        throw error;
      }
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const text = await bodyText(response);
      assert.ok(
        response.status < 500,
        `${response.status} for ${describe()}\n${text.slice(0, 500)}`,
      );
      for (const leak of LEAKS) {
        assert.doesNotMatch(text, leak, `a body leaks ${leak} for ${describe()}`);
      }
    }
    const took = performance.now() - started;
    console.log(
      `  ${REQUESTS} requests in ${Math.round(took)} ms; statuses ${
        JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))
      }`,
    );
    const failures = logged.filter((entry) => entry.level === "error");
    assert.deepEqual(failures, [], "no internal failure was logged");
    assert.equal(await catalogChecksum(shop.services.database.writer), before, "catalog unchanged");
  } finally {
    await shop.close();
  }
});
