/**
 * Scenarios as lists of pluggable steps. A step is a name plus `run(ctx)`, which sends
 * its requests through `ctx.request`, the instrumented fetch that times every request
 * to its last body byte (k6's http_req_duration) and records status and failures.
 *
 * Adding a cart or checkout step means writing one `Step` and listing it in SCENARIOS.
 */

import type { ScenarioName } from "./config.ts";

/** What setup discovered on the target; shared read-only by every VU. */
export interface Discovery {
  categories: string[];
  products: string[];
  words: string[];
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
  /** Cookie jar, emptied before each iteration like k6's per-iteration jar. */
  cookies: Map<string, string>;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
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
    if (!ctx.vu.logsIn || ctx.flags.get("login-disabled")) return;
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

export const SCENARIOS: Record<ScenarioName, Step[]> = {
  home: [homeStep],
  shop: [homeStep, loginStep, categoryStep, productStep, searchStep],
};

/** Maps a fetch error to a short, groupable reason. */
export function classifyError(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timeout";
  const message = error instanceof Error ? `${error.message} ${error.cause ?? ""}` : String(error);
  if (/os error 24|too many open files/i.test(message)) return "EMFILE (too many open files)";
  if (/refused/i.test(message)) return "connection refused";
  if (/reset|broken pipe|closed/i.test(message)) return "connection reset";
  if (/timed? ?out/i.test(message)) return "timeout";
  return message.replace(/\s+/g, " ").trim().slice(0, 80);
}

export interface RequestFactoryOptions {
  timeoutMs: number;
  /** Aborted when the VU is hard-stopped; such requests are dropped, not counted. */
  signal: AbortSignal;
  step: () => string;
}

/** Builds the instrumented fetch for one VU. */
export function createRequest(
  baseUrl: string,
  vu: VuState,
  sink: Sink,
  options: RequestFactoryOptions,
): StepContext["request"] {
  return async function request(path, init = {}) {
    const headers: Record<string, string> = { "user-agent": "shop-load/1 (k6-like)" };
    if (vu.cookies.size > 0) {
      headers.cookie = [...vu.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    let body: string | undefined;
    if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    const step = options.step();
    const started = performance.now();
    let status = 0;
    let bytes = 0;
    let text: string | undefined;
    try {
      const res = await fetch(baseUrl + path, {
        method: init.method ?? "GET",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      status = res.status;
      // Status line + headers, approximately as on the wire.
      bytes += 17;
      for (const [k, v] of res.headers) bytes += k.length + v.length + 4;
      for (const cookie of res.headers.getSetCookie()) {
        const [pair] = cookie.split(";");
        const eq = pair.indexOf("=");
        if (eq > 0) vu.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      if (init.keepBody) {
        text = await res.text();
        bytes += new TextEncoder().encode(text).byteLength;
      } else if (res.body) {
        for await (const chunk of res.body) bytes += chunk.byteLength;
      }
    } catch (error) {
      if (options.signal.aborted) throw new VuInterruptedError("VU stopped after its grace period");
      sink.record({
        step,
        durationMs: performance.now() - started,
        status: 0,
        failed: true,
        bytes,
        error: classifyError(error),
      });
      return { status: 0 };
    }
    const failed = status >= 400 && !(init.tolerate ?? []).includes(status);
    sink.record({
      step,
      durationMs: performance.now() - started,
      status,
      failed,
      bytes,
      error: failed ? `HTTP ${status}` : undefined,
    });
    return { status, body: text };
  };
}

const FALLBACK_WORDS = ["shirt", "mug", "blue", "gift", "coffee", "bag", "lamp", "book"];

/**
 * Setup (like k6 `setup()`): lists categories and products so VUs can visit real pages.
 * Setup requests are not part of the measured run.
 */
export async function discover(baseUrl: string, timeoutMs: number): Promise<Discovery> {
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
    notes,
  };
}
