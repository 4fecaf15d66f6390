/**
 * The fault suite: the shop as a subprocess on a sqld primary with two replicas (it reads from
 * the first) and Redis behind the Upstash gateway, under steady catalog reads and admin stock
 * writes, while each dependency is killed, paused and restarted in turn; finally the shop itself
 * gets SIGTERM with requests in flight.
 *
 * Used twice: a short run in `deno task test` (tests/fault/fault_test.ts asserts on it) and a
 * longer one by tests/bench/fault_bench.ts, which writes the table to BENCHMARKS.md.
 */
import { createClient } from "@libsql/client";
import { openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { seedCatalog } from "../../db/seed.ts";
import { percentile } from "../bench/stats.ts";
import { startUpstashGateway } from "../services/upstash_gateway.ts";
import {
  type Restartable,
  type ShopProcess,
  startRedisServer,
  startShopProcess,
  startSqld,
} from "./processes.ts";

export interface FaultSuiteOptions {
  /** How long each fault lasts under load. */
  faultMs: number;
  /** Concurrent catalog readers. */
  readers: number;
  /** Pause of each reader between requests: keeps the short run from starving other tests. */
  readPauseMs?: number;
  /** Products seeded into the primary. */
  productCount: number;
  /** Progress lines (the bench prints them). */
  log?: (line: string) => void;
}

/** One request the load made. */
interface Sample {
  at: number;
  kind: "read" | "write";
  /** HTTP status, or 0 when no answer came (connection refused or reset, client timeout). */
  status: number;
  ms: number;
  retryAfter: boolean;
}

/** What one phase of the suite saw. */
export interface PhaseResult {
  name: string;
  /** The dependency that was down; writes may answer 503 only while it is the primary. */
  fault: "none" | "replica" | "primary" | "redis" | "shop";
  ms: number;
  reads: RequestFigures;
  writes: RequestFigures & { unavailableWithoutRetryAfter: number };
}

export interface RequestFigures {
  requests: number;
  /** Answers other than 200, by status (0: no answer). */
  non200: Record<string, number>;
  p99Ms: number;
}

export interface FaultReport {
  phases: PhaseResult[];
  /** Writes answered 200 whose value the restarted primary does not hold. */
  lostWrites: Array<{ variantId: number; expected: number; found: number | undefined }>;
  acknowledgedWrites: number;
  drain: {
    inFlight: number;
    completed: number;
    statuses: number[];
    exitCode: number;
    /** From SIGTERM to exit. */
    ms: number;
  };
  logs: Record<string, unknown>[];
}

const ADMIN = { email: "fault-admin@example.com", password: "fault-admin-password" };
const RAISED_LIMITS = {
  RATE_LIMIT_LOGIN_IP: "100000/60",
  RATE_LIMIT_LOGIN_ACCOUNT_IP: "100000/60",
  RATE_LIMIT_LOGIN_ACCOUNT: "100000/60",
  RATE_LIMIT_REGISTER_IP: "100000/60",
  RATE_LIMIT_REFRESH_IP: "100000/60",
};
const SORTS = ["featured", "price_asc", "price_desc", "newest", "name"];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts everything, runs every fault, stops everything; resolves with what it saw. */
export async function runFaultSuite(options: FaultSuiteOptions): Promise<FaultReport> {
  const log = options.log ?? (() => {});
  const stoppers: Array<() => Promise<void>> = [];
  try {
    const primary = await startSqld({ name: "primary" });
    stoppers.push(() => primary.stop());
    const replica = await startSqld({ name: "replica", primaryGrpcUrl: primary.grpcUrl });
    stoppers.push(() => replica.stop());
    const spare = await startSqld({ name: "replica-2", primaryGrpcUrl: primary.grpcUrl });
    stoppers.push(() => spare.stop());
    const redis = await startRedisServer();
    stoppers.push(() => redis.stop());
    const gateway = await startUpstashGateway({ redisPort: redis.port, token: "fault-token" });
    stoppers.push(() => gateway.stop());

    const variants = await seed(primary.httpUrl, options.productCount);
    log(`seeded ${options.productCount} products (${variants.length} variants) into the primary`);
    const shop = await startShopProcess({
      DATABASE_URL: primary.httpUrl,
      DATABASE_READ_URL: replica.httpUrl,
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: gateway.token,
      SEED_IF_EMPTY: "false",
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ...RAISED_LIMITS,
    });
    stoppers.push(() => shop.stop());
    log(`the shop answers on ${shop.url}`);

    const load = await startLoad(shop, variants, options);
    const phases: PhaseResult[] = [];
    const phase = async (
      name: string,
      fault: PhaseResult["fault"],
      during: () => Promise<void>,
    ) => {
      const started = Date.now();
      await during();
      const result = summarize(name, fault, load.samples, started, Date.now());
      phases.push(result);
      log(formatPhase(result));
    };
    await runFaults({ phase, faultMs: options.faultMs, primary, replica, redis, load });
    const drain = await drainUnderLoad(shop, phase);
    await load.stop();
    log(
      `SIGTERM: ${drain.completed}/${drain.inFlight} in-flight requests completed, exit ${drain.exitCode}`,
    );

    const lostWrites = await findLostWrites(primary.httpUrl, load.acknowledged);
    return {
      phases,
      lostWrites,
      acknowledgedWrites: load.acknowledged.size,
      drain,
      logs: shop.logs,
    };
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
  }
}

interface Faults {
  phase: (name: string, fault: PhaseResult["fault"], during: () => Promise<void>) => Promise<void>;
  faultMs: number;
  primary: Restartable;
  replica: Restartable;
  redis: Restartable;
  load: Load;
}

/** Each dependency killed then restarted, paused then resumed, with a steady phase between. */
async function runFaults(f: Faults): Promise<void> {
  const { phase, faultMs } = f;
  await phase("steady state", "none", () => sleep(faultMs));
  for (
    const [target, fault] of [[f.replica, "replica"], [f.primary, "primary"], [
      f.redis,
      "redis",
    ]] as const
  ) {
    await phase(`${target.name} killed (SIGKILL)`, fault, async () => {
      await target.kill();
      await sleep(faultMs);
    });
    await phase(`${target.name} restarted`, fault, async () => {
      await target.restart();
      if (fault === "primary") await f.load.writesRecovered();
      await sleep(faultMs / 2);
    });
    await phase(`${target.name} paused (SIGSTOP)`, fault, async () => {
      target.pause();
      await sleep(faultMs);
    });
    await phase(`${target.name} resumed`, fault, async () => {
      target.resume();
      if (fault === "primary") await f.load.writesRecovered();
      await sleep(faultMs / 2);
    });
  }
}

/** Migrates and seeds the primary; returns every variant's id and product id. */
async function seed(primaryUrl: string, productCount: number) {
  const database = openDatabase({ url: primaryUrl, syncIntervalSeconds: 1, timeoutMs: 30_000 });
  try {
    await migrateDatabase(database.writer);
    await seedCatalog(database.writer, { productCount });
  } finally {
    database.close();
  }
  const client = createClient({ url: primaryUrl, intMode: "number" });
  try {
    const result = await client.execute("SELECT id, product_id FROM variants ORDER BY id");
    return result.rows.map((row) => ({
      variantId: Number(row.id),
      productId: Number(row.product_id),
    }));
  } finally {
    client.close();
  }
}

interface Load {
  samples: Sample[];
  /** variant id → the stock value its last 200 answer set. */
  acknowledged: Map<number, number>;
  /** Resolves once a write has been answered 200 again. */
  writesRecovered(): Promise<void>;
  /** Stops readers and the writer and waits for them. */
  stop(): Promise<void>;
  adminToken: string;
}

/**
 * Catalog readers (a third cached pages, the rest listings never asked for before, cache misses
 * that reach the database) and one admin writer setting each variant's
 * stock once, to a value of its own, so an acknowledged write can be looked up afterwards.
 */
async function startLoad(
  shop: ShopProcess,
  variants: Array<{ variantId: number; productId: number }>,
  options: Pick<FaultSuiteOptions, "readers" | "readPauseMs">,
): Promise<Load> {
  const samples: Sample[] = [];
  const acknowledged = new Map<number, number>();
  const login = await fetch(`${shop.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ADMIN),
  });
  if (!login.ok) throw new Error(`admin login answered ${login.status}`);
  const adminToken = (await login.json()).accessToken as string;
  const listing = await (await fetch(`${shop.url}/api/products?limit=20`)).json();
  const slugs: string[] = listing.items.map((item: { slug: string }) => item.slug);
  let running = true;
  let lastWriteOk = 0;

  async function request(kind: Sample["kind"], path: string, init?: RequestInit) {
    const started = performance.now();
    let status = 0;
    let retryAfter = false;
    try {
      const response = await fetch(`${shop.url}${path}`, {
        ...init,
        signal: AbortSignal.timeout(15_000),
      });
      await response.body?.cancel();
      status = response.status;
      retryAfter = Number(response.headers.get("retry-after")) >= 1;
    } catch {
      // no answer: refused, reset or timed out
    }
    samples.push({ at: Date.now(), kind, status, ms: performance.now() - started, retryAfter });
    return status;
  }

  const readPath = (i: number) => {
    if (i % 3 === 0) {
      const slug = slugs[i % slugs.length];
      return [`/p/${slug}`, `/api/products/${slug}`, "/", "/api/products?limit=24"][i % 4];
    }
    // A listing nobody asked for yet: a cache miss that reaches the database.
    const minPrice = `${Math.floor(i / 100) % 100_000}.${String(i % 100).padStart(2, "0")}`;
    return `/api/products?limit=${1 + (i * 7) % 100}&sort=${SORTS[i % SORTS.length]}` +
      `&min_price=${minPrice}`;
  };
  const readerLoops = Array.from({ length: options.readers }, async (_, reader) => {
    for (let i = reader * 100_003; running; i++) {
      // No answer at all (the shop is gone after SIGTERM): do not spin on refused connections.
      const status = await request("read", readPath(i));
      if (status === 0) await sleep(50);
      else if (options.readPauseMs) await sleep(options.readPauseMs);
    }
  });
  const writerLoop = (async () => {
    for (const [i, { variantId, productId }] of variants.entries()) {
      if (!running) break;
      const value = 100_000 + i;
      const status = await request("write", `/api/admin/products/${productId}/stock`, {
        method: "PUT",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ variants: [{ variantId, onHand: value }] }),
      });
      if (status === 200) {
        acknowledged.set(variantId, value);
        lastWriteOk = Date.now();
      }
      // A steady pace, slower while refused, so the variants last the whole suite.
      await sleep(status === 200 ? 25 : 100);
    }
  })();

  return {
    samples,
    acknowledged,
    adminToken,
    async writesRecovered() {
      const since = Date.now();
      const deadline = since + 30_000;
      while (lastWriteOk <= since) {
        if (Date.now() > deadline) throw new Error("writes did not recover within 30 s");
        await sleep(50);
      }
    },
    async stop() {
      running = false;
      await Promise.all([...readerLoops, writerLoop]);
    },
  };
}

/**
 * SIGTERM with requests in flight: logins (an argon2 hash each, queued one at a time) are sent,
 * and once the shop is busy with them it gets SIGTERM. Every one of them must be answered; the
 * background readers meanwhile find the listener closed, which is expected.
 */
async function drainUnderLoad(
  shop: ShopProcess,
  phase: Faults["phase"],
): Promise<FaultReport["drain"]> {
  let drain: FaultReport["drain"] | undefined;
  await phase("shop SIGTERM (drain)", "shop", async () => {
    const inFlight = Array.from({ length: 6 }, () =>
      fetch(`${shop.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ADMIN),
        signal: AbortSignal.timeout(30_000),
      }).then(async (response) => {
        await response.body?.cancel();
        return response.status;
      }, () => 0));
    await sleep(150); // received and queued for hashing
    const signalled = performance.now();
    shop.signal("SIGTERM");
    const statuses = await Promise.all(inFlight);
    const { code } = await shop.status;
    drain = {
      inFlight: statuses.length,
      completed: statuses.filter((status) => status === 200).length,
      statuses,
      exitCode: code,
      ms: Math.round(performance.now() - signalled),
    };
  });
  return drain!;
}

async function findLostWrites(
  primaryUrl: string,
  acknowledged: Map<number, number>,
): Promise<FaultReport["lostWrites"]> {
  const client = createClient({ url: primaryUrl, intMode: "number" });
  try {
    const found = new Map<number, number>();
    const ids = [...acknowledged.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const result = await client.execute({
        sql: `SELECT variant_id, on_hand FROM inventory WHERE variant_id IN (${
          batch.map(() => "?").join(",")
        })`,
        args: batch,
      });
      for (const row of result.rows) found.set(Number(row.variant_id), Number(row.on_hand));
    }
    return [...acknowledged]
      .filter(([variantId, expected]) => found.get(variantId) !== expected)
      .map(([variantId, expected]) => ({ variantId, expected, found: found.get(variantId) }));
  } finally {
    client.close();
  }
}

function summarize(
  name: string,
  fault: PhaseResult["fault"],
  samples: Sample[],
  from: number,
  to: number,
): PhaseResult {
  const within = samples.filter((s) => s.at >= from && s.at < to);
  const figures = (kind: Sample["kind"]): RequestFigures => {
    const mine = within.filter((s) => s.kind === kind);
    const non200: Record<string, number> = {};
    for (const s of mine) if (s.status !== 200) non200[s.status] = (non200[s.status] ?? 0) + 1;
    const sorted = mine.map((s) => s.ms).sort((a, b) => a - b);
    return { requests: mine.length, non200, p99Ms: Math.round(percentile(sorted, 99)) };
  };
  const writes = within.filter((s) => s.kind === "write");
  return {
    name,
    fault,
    ms: to - from,
    reads: figures("read"),
    writes: {
      ...figures("write"),
      unavailableWithoutRetryAfter: writes.filter((s) => s.status === 503 && !s.retryAfter)
        .length,
    },
  };
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0
    ? "0"
    : entries.map(([status, n]) => `${n} × ${status === "0" ? "no answer" : status}`).join(", ");
}

/** One line per phase, for progress output. */
export function formatPhase(p: PhaseResult): string {
  return `${p.name.padEnd(26)} ${(p.ms / 1000).toFixed(1).padStart(5)} s | reads ${
    String(p.reads.requests).padStart(6)
  }, non-200 ${
    formatCounts(p.reads.non200)
  }, p99 ${p.reads.p99Ms} ms | writes ${p.writes.requests}, non-200 ${
    formatCounts(p.writes.non200)
  }, p99 ${p.writes.p99Ms} ms`;
}

/** The Markdown table BENCHMARKS.md carries. */
export function formatTable(report: FaultReport): string {
  const rows = report.phases.map((p) =>
    `| ${p.name} | ${(p.ms / 1000).toFixed(1)} | ${p.reads.requests} | ${
      formatCounts(p.reads.non200)
    } | ${p.reads.p99Ms} | ${p.writes.requests} | ${
      formatCounts(p.writes.non200)
    } | ${p.writes.p99Ms} |`
  );
  return [
    "| phase | s | reads | reads non-200 | read p99 ms | writes | writes non-200 | write p99 ms |",
    "| --- | --: | --: | --- | --: | --: | --- | --: |",
    ...rows,
  ].join("\n");
}
