/**
 * Scenarios as lists of pluggable steps. A step is a name plus `run(ctx)`, which sends
 * its requests through `ctx.request`, the instrumented client that times every request
 * to its last body byte (k6's http_req_duration) and records status and failures. Each VU
 * keeps its own keep-alive connection (http_client.ts), as k6 VUs do.
 *
 * The buy scenario browses like shop, then the `--buy-share` of VUs add a variant to their
 * cart and check out as guests (the load account is shared by every VU, so buying with it would
 * make them all fight over one cart).
 */

import type { ScenarioName } from "./config.ts";
import {
  classifyError as classifyConnectionError,
  encodeRequest,
  KeepAliveConnection,
  type RawResponse,
  RequestFailedError,
} from "./http_client.ts";

/** What setup discovered on the target; shared read-only by every VU. */
export interface Discovery {
  categories: string[];
  products: string[];
  words: string[];
  /** Variant ids with stock, for the cart step (buy scenario only). */
  variants: number[];
  notes: string[];
}

/** Receives one sample per finished request (aggregated per second by the caller). */
export interface Sink {
  record(sample: Sample): void;
  /** Adds a line to the run summary, once per distinct text. */
  note(text: string): void;
}

export interface Sample {
  step: string;
  durationMs: number;
  status: number;
  failed: boolean;
  bytes: number;
  /** Why the request failed: `HTTP 500`, `timeout`, `EMFILE (too many open files)` … */
  error?: string;
}

export interface VuState {
  id: number;
  iteration: number;
  /** Whether this VU belongs to the `--login-share` of VUs that log in. */
  logsIn: boolean;
  /** Whether this VU belongs to the `--buy-share` of VUs that add to cart and check out. */
  buys: boolean;
  /** Cookie jar, emptied before each iteration like k6's per-iteration jar. */
  cookies: Map<string, string>;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  headers?: Record<string, string>;
  /** Statuses that do not count as failures (e.g. 404 from a not-yet-built endpoint). */
  tolerate?: number[];
  /** Keep the body text (setup, login); otherwise it is read and discarded. */
  keepBody?: boolean;
}

export interface Response {
  status: number;
  body?: string;
}

export interface StepContext {
  vu: VuState;
  data: Discovery;
  /** The page of the `path` scenario. */
  path: string;
  /** Per-process switches steps may flip (e.g. disable login after a 404). */
  flags: Map<string, boolean>;
  sink: Sink;
  credentials: { email: string; password: string };
  request(path: string, options?: RequestOptions): Promise<Response>;
  random(): number;
}

export interface Step {
  name: string;
  run(ctx: StepContext): Promise<void>;
}

/** Thrown out of a step when the VU was hard-stopped after its grace period. */
export class VuInterruptedError extends Error {
  override name = "VuInterruptedError";
}

function pick<T>(ctx: StepContext, items: T[]): T {
  return items[Math.floor(ctx.random() * items.length)];
}

function skipWhenEmpty(ctx: StepContext, items: string[], what: string): boolean {
  if (items.length > 0) return false;
  ctx.sink.note(`No ${what} discovered at setup: the ${what} step was skipped`);
  return true;
}

export const homeStep: Step = {
  name: "home",
  async run(ctx) {
    await ctx.request("/");
  },
};

export const loginStep: Step = {
  name: "login",
  async run(ctx) {
    if (!ctx.vu.logsIn || ctx.vu.buys || ctx.flags.get("login-disabled")) return;
    const res = await ctx.request("/api/auth/login", {
      method: "POST",
      json: ctx.credentials,
      tolerate: [404],
    });
    if (res.status === 404) {
      ctx.flags.set("login-disabled", true);
      ctx.sink.note(
        "POST /api/auth/login answered 404 (not built yet): the login step was disabled after " +
          "its first attempt; those 404s are not counted as failures",
      );
    }
  },
};

export const categoryStep: Step = {
  name: "category",
  async run(ctx) {
    if (skipWhenEmpty(ctx, ctx.data.categories, "category")) return;
    await ctx.request(`/c/${encodeURIComponent(pick(ctx, ctx.data.categories))}`);
  },
};

export const productStep: Step = {
  name: "product",
  async run(ctx) {
    if (skipWhenEmpty(ctx, ctx.data.products, "product")) return;
    await ctx.request(`/p/${encodeURIComponent(pick(ctx, ctx.data.products))}`);
  },
};

export const searchStep: Step = {
  name: "search",
  async run(ctx) {
    await ctx.request(`/search?q=${encodeURIComponent(pick(ctx, ctx.data.words))}`);
  },
};

/** One GET of `--path`: a closed loop on one page, comparable with `hey` and `wrk`. */
export const pathStep: Step = {
  name: "get",
  async run(ctx) {
    await ctx.request(ctx.path);
  },
};

export const addToCartStep: Step = {
  name: "add_to_cart",
  async run(ctx) {
    if (!ctx.vu.buys || skipWhenEmpty(ctx, ctx.data.variants.map(String), "variant")) return;
    // 409: sold out since setup; 422: the cart is full. Both are right answers, not failures.
    await ctx.request("/api/cart/items", {
      method: "POST",
      json: { variantId: pick(ctx, ctx.data.variants), quantity: 1 },
      tolerate: [409, 422],
    });
  },
};

/** A guest checkout; the body is the same for every VU, the key is per iteration. */
const CHECKOUT_BODY = {
  email: "load@example.com",
  shippingAddress: {
    name: "Load Shopper",
    line1: "1 Load Street",
    city: "Springfield",
    postalCode: "12345",
    country: "US",
  },
  shippingOption: "standard",
};

export const checkoutStep: Step = {
  name: "checkout",
  async run(ctx) {
    if (!ctx.vu.buys || !ctx.vu.cookies.has("cart")) return;
    // 409: the last units went to another shopper meanwhile, a correct answer under load.
    const res = await ctx.request("/api/checkout", {
      method: "POST",
      json: CHECKOUT_BODY,
      headers: {
        "idempotency-key": `load-${ctx.vu.id}-${ctx.vu.iteration}-${crypto.randomUUID()}`,
      },
      tolerate: [409],
    });
    if (res.status === 409) ctx.sink.note("Some checkouts answered 409 out_of_stock (tolerated)");
  },
};

export const SCENARIOS: Record<ScenarioName, Step[]> = {
  home: [homeStep],
  shop: [homeStep, loginStep, categoryStep, productStep, searchStep],
  path: [pathStep],
  buy: [homeStep, loginStep, categoryStep, productStep, searchStep, addToCartStep, checkoutStep],
};

/** Maps a fetch error (setup) to a short, groupable reason. */
export function classifyError(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timeout";
  const message = error instanceof Error ? `${error.message} ${error.cause ?? ""}` : String(error);
  return classifyConnectionError(message);
}

export interface RequestFactoryOptions {
  timeoutMs: number;
  /** Aborted when the VU is hard-stopped; such requests are dropped, not counted. */
  signal: AbortSignal;
  step: () => string;
}

const USER_AGENT = "shop-load/2 (k6-like)";
/** What a browser asks for; bodies are counted compressed, as they travel. */
const ACCEPT_ENCODING = "gzip, br";
/** Request heads without cookies or body, built once per method and path for the process. */
const prebuiltHeads = new Map<string, Uint8Array>();

/** The instrumented request function of one VU, over its own keep-alive connection. */
export type VuRequest = StepContext["request"] & { close(): void };

/** Builds the instrumented request function for one VU (one keep-alive connection). */
export function createRequest(
  baseUrl: string,
  vu: VuState,
  sink: Sink,
  options: RequestFactoryOptions,
): VuRequest {
  const target = new URL(baseUrl);
  if (target.protocol !== "http:") {
    throw new RangeError(`The load tool speaks plain HTTP/1.1; "${baseUrl}" is not http://`);
  }
  const port = Number(target.port || 80);
  const connection = new KeepAliveConnection(target.hostname, port);
  const baseHeaders: Array<[string, string]> = [
    ["Host", target.host],
    ["User-Agent", USER_AGENT],
    ["Accept-Encoding", ACCEPT_ENCODING],
  ];
  options.signal.addEventListener("abort", () => connection.close(), { once: true });

  function encode(method: string, path: string, init: RequestOptions): Uint8Array {
    const plain = vu.cookies.size === 0 && init.json === undefined && init.headers === undefined;
    const key = `${method} ${path}`;
    if (plain) {
      const cached = prebuiltHeads.get(key);
      if (cached) return cached;
    }
    const headers = [...baseHeaders];
    if (vu.cookies.size > 0) {
      headers.push(["Cookie", [...vu.cookies].map(([k, v]) => `${k}=${v}`).join("; ")]);
    }
    for (const [name, value] of Object.entries(init.headers ?? {})) headers.push([name, value]);
    let body: string | undefined;
    if (init.json !== undefined) {
      headers.push(["Content-Type", "application/json"]);
      body = JSON.stringify(init.json);
    }
    const bytes = encodeRequest(method, path, headers, body);
    if (plain && prebuiltHeads.size < 10_000) prebuiltHeads.set(key, bytes);
    return bytes;
  }

  async function request(path: string, init: RequestOptions = {}): Promise<Response> {
    const method = init.method ?? "GET";
    const step = options.step();
    const started = performance.now();
    let response: RawResponse;
    try {
      response = await connection.send(encode(method, path, init), {
        timeoutMs: options.timeoutMs,
        keepBody: init.keepBody,
        head: method === "HEAD",
      });
    } catch (error) {
      if (options.signal.aborted) throw new VuInterruptedError("VU stopped after its grace period");
      sink.record({
        step,
        durationMs: performance.now() - started,
        status: 0,
        failed: true,
        bytes: 0,
        error: error instanceof RequestFailedError ? error.reason : classifyError(error),
      });
      return { status: 0 };
    }
    const durationMs = performance.now() - started;
    for (const cookie of response.setCookies) {
      const [pair] = cookie.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) vu.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const { status } = response;
    const failed = status >= 400 && !(init.tolerate ?? []).includes(status);
    sink.record({
      step,
      durationMs,
      status,
      failed,
      bytes: response.bytes,
      error: failed ? `HTTP ${status}` : undefined,
    });
    return { status, body: response.body ? new TextDecoder().decode(response.body) : undefined };
  }
  return Object.assign(request, { close: () => connection.close() });
}

const FALLBACK_WORDS = ["shirt", "mug", "blue", "gift", "coffee", "bag", "lamp", "book"];

/**
 * Setup (like k6 `setup()`): lists categories and products so VUs can visit real pages, and
 * for the buy scenario the variants in stock of the first products. Setup requests are not
 * part of the measured run.
 */
export async function discover(
  baseUrl: string,
  timeoutMs: number,
  options: { variants?: boolean } = {},
): Promise<Discovery> {
  const notes: string[] = [];
  async function items(path: string): Promise<Array<Record<string, unknown>>> {
    try {
      const res = await fetch(baseUrl + path, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        notes.push(`Setup: GET ${path} answered ${res.status}`);
        return [];
      }
      const json = await res.json();
      return Array.isArray(json?.items) ? json.items : [];
    } catch (error) {
      notes.push(`Setup: GET ${path} failed (${classifyError(error)})`);
      return [];
    }
  }
  const [categories, products] = await Promise.all([
    items("/api/categories"),
    items("/api/products?limit=100"),
  ]);
  const slugs = (list: Array<Record<string, unknown>>) =>
    list.map((item) => item.slug).filter((s): s is string => typeof s === "string" && s !== "");
  const productSlugs = slugs(products);
  const words = new Set<string>();
  for (const product of products) {
    const source = typeof product.name === "string" ? product.name : String(product.slug ?? "");
    for (const word of source.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
      if (word.length >= 3) words.add(word);
    }
  }
  return {
    categories: slugs(categories),
    products: productSlugs,
    words: words.size > 0 ? [...words].slice(0, 200) : FALLBACK_WORDS,
    variants: options.variants
      ? await variantsInStock(baseUrl, productSlugs, timeoutMs, notes)
      : [],
    notes,
  };
}

/** Variant ids with stock among the first 30 products (one detail request each). */
async function variantsInStock(
  baseUrl: string,
  slugs: string[],
  timeoutMs: number,
  notes: string[],
): Promise<number[]> {
  const found: number[] = [];
  for (const slug of slugs.slice(0, 30)) {
    try {
      const res = await fetch(`${baseUrl}/api/products/${encodeURIComponent(slug)}`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        continue;
      }
      const product = await res.json() as { variants?: { id: number; available: number }[] };
      for (const variant of product.variants ?? []) {
        if (variant.available > 0) found.push(variant.id);
      }
    } catch (error) {
      notes.push(`Setup: GET /api/products/${slug} failed (${classifyError(error)})`);
    }
  }
  if (found.length === 0) notes.push("Setup: no variant in stock found for the cart step");
  return found;
}
