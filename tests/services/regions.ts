/**
 * A multi-region topology on one machine, for `deno task dev:regions`, the regions benchmark and
 * the cross-region test.
 *
 * The first region is the primary region: the sqld primary, `redis-server` behind the Upstash
 * gateway, and (started by the caller) an edge that reads the primary directly. Every other
 * region gets its own read replica (a sqld replica, or an embedded replica file) and an edge of
 * its own, and reaches the primary region only through delay proxies (delay_proxy.ts) that put
 * the region's round-trip time on every cross-region link:
 *
 * ```
 *   region eu (80 ms)                         region us (primary)
 *   edge ──── database link ────────────────► sqld primary (HTTP)
 *   edge ──── redis link ───────────────────► Upstash gateway ─► redis-server
 *   sqld replica ── replication link (gRPC) ► sqld primary (gRPC)
 * ```
 *
 * Edges are started by the caller: as processes with `startEdgeProcess` (dev tool, benchmark),
 * or in-process over `region.env` (the test). Everything started here is stopped by `stop()`;
 * edge processes are also SIGKILLed on `unload`, so none outlives its parent.
 */
import { exportJWK, generateKeyPair } from "jose";
import { type CutMode, type DelayProxy, startDelayProxy } from "./delay_proxy.ts";
import { type RedisService, startRedis } from "./redis.ts";
import { type SqldProcess, startSqld } from "./sqld.ts";
import { startUpstashGateway, type UpstashGateway } from "./upstash_gateway.ts";

const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** A region and its round-trip time to the primary region. */
export interface RegionSpec {
  name: string;
  rttMs: number;
}

export interface StartRegionsOptions {
  /** The first one is the primary region (its RTT is 0 whatever is given). */
  regions: RegionSpec[];
  /** Spread of every link's RTT in ms (uniform, centred on the RTT). Default 0. */
  jitterMs?: number;
  /** What serves a remote region's reads: a sqld replica (default) or an embedded replica file. */
  replica?: "sqld" | "embedded";
  /** Extra environment for every edge. */
  env?: Record<string, string>;
}

/** The links of a remote region to the primary region. */
export interface RegionLinks {
  database: DelayProxy;
  redis: DelayProxy;
  /** The sqld replica's gRPC stream from the primary (absent with embedded replicas). */
  replication?: DelayProxy;
}

export interface Region {
  name: string;
  rttMs: number;
  isPrimary: boolean;
  /** Absent in the primary region, which needs no link to itself. */
  links?: RegionLinks;
  /** This region's sqld replica (remote regions with `replica: "sqld"`). */
  replica?: SqldProcess;
  /** This region's embedded replica file URL (remote regions with `replica: "embedded"`). */
  embeddedReplicaUrl?: string;
  /** The environment of this region's edge, without PORT and DATA_DIR. */
  env: Record<string, string>;
}

export interface RegionsTopology {
  primaryRegion: Region;
  regions: Region[];
  sqldPrimary: SqldProcess;
  redis: RedisService;
  gateway: UpstashGateway;
  /** Looks a region up by name; throws for an unknown one. */
  region(name: string): Region;
  /** Breaks every link of a remote region (see `CutMode`). */
  cut(name: string, mode: CutMode): void;
  /** Restores every link of a region. */
  heal(name: string): void;
  /** Polls every sqld replica until `sql` (one number) answers what it answers on the primary. */
  waitForReplicas(sql?: string, timeoutMs?: number): Promise<void>;
  /** A few lines describing the topology, for a terminal. */
  describe(): string;
  /** Stops every proxy and server started here. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the servers and links of a topology (no edges). */
export async function startRegions(options: StartRegionsOptions): Promise<RegionsTopology> {
  const specs = validateSpecs(options.regions);
  const jitterMs = options.jitterMs ?? 0;
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
  };
  try {
    const sqldPrimary = await startSqld({ grpc: true });
    stops.push(() => sqldPrimary.stop());
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const token = crypto.randomUUID().replaceAll("-", "");
    const gateway = await startUpstashGateway({ redisPort: redis.port, token });
    stops.push(() => gateway.stop());
    const signingKeys = JSON.stringify([await generateSigningKey()]);
    const common = {
      PRIMARY_REGION: specs[0].name,
      UPSTASH_REDIS_REST_TOKEN: token,
      AUTH_SIGNING_KEYS: signingKeys,
      ...options.env,
    };

    const regions: Region[] = [{
      name: specs[0].name,
      rttMs: 0,
      isPrimary: true,
      env: {
        ...common,
        REGION: specs[0].name,
        DATABASE_URL: sqldPrimary.httpUrl,
        UPSTASH_REDIS_REST_URL: gateway.url,
      },
    }];
    for (const spec of specs.slice(1)) {
      const region = await startRemoteRegion(spec, {
        sqldPrimary,
        gateway,
        jitterMs: Math.min(jitterMs, 2 * spec.rttMs),
        replica: options.replica ?? "sqld",
        common,
        onStop: (stop) => stops.push(stop),
      });
      regions.push(region);
    }
    return createTopology({ regions, sqldPrimary, redis, gateway, stopAll });
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startRemoteRegion(
  spec: RegionSpec,
  context: {
    sqldPrimary: SqldProcess;
    gateway: UpstashGateway;
    jitterMs: number;
    replica: "sqld" | "embedded";
    common: Record<string, string>;
    onStop: (stop: () => Promise<void>) => void;
  },
): Promise<Region> {
  const { sqldPrimary, gateway, jitterMs } = context;
  const link = async (targetUrl: string) => {
    const proxy = await startDelayProxy({
      targetPort: Number(new URL(targetUrl).port),
      rttMs: spec.rttMs,
      jitterMs,
    });
    context.onStop(() => proxy.stop());
    return proxy;
  };
  const database = await link(sqldPrimary.httpUrl);
  const redis = await link(gateway.url);
  const env: Record<string, string> = {
    // Redis sits a round trip away: give its calls room for the distance and the jitter.
    REDIS_TIMEOUT_MS: String(Math.max(250, 2 * spec.rttMs + jitterMs + 100)),
    ...context.common,
    REGION: spec.name,
    DATABASE_URL: database.url,
    UPSTASH_REDIS_REST_URL: redis.url,
  };
  if (context.replica === "embedded") {
    const dir = await Deno.makeTempDir({ prefix: `region-${spec.name}-` });
    context.onStop(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
    const embeddedReplicaUrl = `file:${dir}/replica.db`;
    env.DATABASE_READ_URL = embeddedReplicaUrl;
    return {
      name: spec.name,
      rttMs: spec.rttMs,
      isPrimary: false,
      links: { database, redis },
      embeddedReplicaUrl,
      env,
    };
  }
  const replication = await link(sqldPrimary.grpcUrl!);
  const replica = await startSqld({ primaryGrpcUrl: replication.url });
  context.onStop(() => replica.stop());
  env.DATABASE_READ_URL = replica.httpUrl;
  return {
    name: spec.name,
    rttMs: spec.rttMs,
    isPrimary: false,
    links: { database, redis, replication },
    replica,
    env,
  };
}

function createTopology(parts: {
  regions: Region[];
  sqldPrimary: SqldProcess;
  redis: RedisService;
  gateway: UpstashGateway;
  stopAll: () => Promise<void>;
}): RegionsTopology {
  const { regions, sqldPrimary } = parts;
  const region = (name: string) => {
    const found = regions.find((r) => r.name === name);
    if (!found) throw new RangeError(`Unknown region "${name}"`);
    return found;
  };
  const linksOf = (name: string) => Object.values(region(name).links ?? {}) as DelayProxy[];
  let stopping: Promise<void> | undefined;
  return {
    primaryRegion: regions[0],
    regions,
    sqldPrimary,
    redis: parts.redis,
    gateway: parts.gateway,
    region,
    cut: (name, mode) => linksOf(name).forEach((link) => link.cut(mode)),
    heal: (name) => linksOf(name).forEach((link) => link.heal()),
    async waitForReplicas(sql = "SELECT count(*) FROM products", timeoutMs = 60_000) {
      const expected = await queryNumber(sqldPrimary.httpUrl, sql);
      await Promise.all(
        regions.filter((r) => r.replica).map(async (r) => {
          const deadline = Date.now() + timeoutMs;
          while (await queryNumber(r.replica!.httpUrl, sql).catch(() => undefined) !== expected) {
            if (Date.now() > deadline) {
              throw new Error(`Replica of "${r.name}" did not catch up within ${timeoutMs} ms`);
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }),
      );
    },
    describe: () => describeTopology(regions, sqldPrimary, parts.gateway, parts.redis),
    stop: () => stopping ??= parts.stopAll(),
  };
}

function describeTopology(
  regions: Region[],
  sqldPrimary: SqldProcess,
  gateway: UpstashGateway,
  redis: RedisService,
): string {
  const lines = [
    `primary region "${regions[0].name}"`,
    `  sqld primary   ${sqldPrimary.httpUrl}  grpc ${sqldPrimary.grpcUrl}  pid ${sqldPrimary.pid}`,
    `  redis          ${redis.url} behind the Upstash gateway ${gateway.url}`,
  ];
  for (const r of regions.slice(1)) {
    const links = r.links!;
    const jitter = links.database.jitterMs ? ` ± ${links.database.jitterMs / 2} ms` : "";
    lines.push(`region "${r.name}": ${r.rttMs} ms${jitter} RTT to "${regions[0].name}"`);
    if (r.replica) {
      lines.push(
        `  sqld replica   ${r.replica.httpUrl}  pid ${r.replica.pid}  (replication via ${
          links.replication!.url
        })`,
      );
    } else {
      lines.push(`  embedded replica ${r.embeddedReplicaUrl}`);
    }
    lines.push(`  links          database ${links.database.url}  redis ${links.redis.url}`);
  }
  return lines.join("\n");
}

function validateSpecs(specs: RegionSpec[]): RegionSpec[] {
  if (specs.length === 0) throw new RangeError("At least one region is needed");
  const names = new Set<string>();
  for (const spec of specs) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(spec.name)) {
      throw new RangeError(
        `Region names are lowercase letters, digits and "-", got "${spec.name}"`,
      );
    }
    if (names.has(spec.name)) throw new RangeError(`Region "${spec.name}" is listed twice`);
    names.add(spec.name);
    if (!Number.isFinite(spec.rttMs) || spec.rttMs < 0 || spec.rttMs > 10_000) {
      throw new RangeError(`RTT of "${spec.name}" must be 0 to 10000 ms, got "${spec.rttMs}"`);
    }
  }
  return [{ name: specs[0].name, rttMs: 0 }, ...specs.slice(1)];
}

/** An Ed25519 private JWK shared by every edge, so a token from one region verifies in all. */
async function generateSigningKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { ...await exportJWK(privateKey), kid: `regions-${crypto.randomUUID().slice(0, 8)}` };
}

/** Runs one statement over Hrana HTTP and returns its first column as a number. */
async function queryNumber(httpUrl: string, sql: string): Promise<number | undefined> {
  const response = await fetch(`${httpUrl}/v2/pipeline`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ requests: [{ type: "execute", stmt: { sql } }, { type: "close" }] }),
    signal: AbortSignal.timeout(2000),
  });
  const body = await response.json();
  const result = body.results?.[0];
  if (result?.type !== "ok") return undefined;
  const value = result.response.result.rows[0]?.[0]?.value;
  return value === undefined || value === null ? undefined : Number(value);
}

/** An edge node running `main.ts` as a process. */
export interface EdgeProcess {
  region: string;
  pid: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  dataDir: string;
  /** SIGTERM (graceful), SIGKILL after `deadlineMs`; removes the data dir. Idempotent. */
  stop(deadlineMs?: number): Promise<void>;
}

export interface StartEdgeOptions {
  /** Port to listen on; default a free one. */
  port?: number;
  /** Extra environment on top of `region.env`. */
  env?: Record<string, string>;
  /** How long migrating, seeding and start-up may take. Default 120 s. */
  timeoutMs?: number;
  /** Where the edge's stdout/stderr go. Default: inherited. */
  output?: "inherit" | "null";
}

const edges = new Map<Deno.ChildProcess, string>();
let edgeListenersInstalled = false;

/** SIGKILLs edges still running when this process ends, and removes their data dirs. */
function killEdgesNow(): void {
  for (const [child, dataDir] of edges) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    try {
      Deno.removeSync(dataDir, { recursive: true });
    } catch {
      // already removed
    }
  }
  edges.clear();
}

function trackEdge(child: Deno.ChildProcess, dataDir: string): void {
  edges.set(child, dataDir);
  if (!edgeListenersInstalled) {
    edgeListenersInstalled = true;
    globalThis.addEventListener("unload", killEdgesNow);
    globalThis.addEventListener("error", killEdgesNow);
    globalThis.addEventListener("unhandledrejection", killEdgesNow);
  }
}

function untrackEdge(child: Deno.ChildProcess): void {
  edges.delete(child);
  if (edges.size === 0 && edgeListenersInstalled) {
    edgeListenersInstalled = false;
    globalThis.removeEventListener("unload", killEdgesNow);
    globalThis.removeEventListener("error", killEdgesNow);
    globalThis.removeEventListener("unhandledrejection", killEdgesNow);
  }
}

/** Starts `main.ts` for `region` on its own data dir (own KV file) and waits for `/healthz`. */
export async function startEdgeProcess(
  region: Region,
  options: StartEdgeOptions = {},
): Promise<EdgeProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: `edge-${region.name}-` });
  const port = options.port ?? freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "--allow-all", "main.ts"],
    cwd: REPO_ROOT,
    env: {
      ...region.env,
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      DATA_DIR: dataDir,
      ...options.env,
    },
    stdin: "null",
    stdout: options.output ?? "inherit",
    stderr: options.output ?? "inherit",
  }).spawn();
  trackEdge(child, dataDir);
  const status = child.status.finally(() => untrackEdge(child));
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const edge: EdgeProcess = {
    region: region.name,
    pid: child.pid,
    url,
    dataDir,
    stop(deadlineMs = 5000) {
      stopping ??= (async () => {
        signal(child, "SIGTERM");
        const timer = setTimeout(() => signal(child, "SIGKILL"), deadlineMs);
        await status;
        clearTimeout(timer);
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      })();
      return stopping;
    },
  };
  try {
    await Promise.race([
      waitForHealthy(url, options.timeoutMs ?? 120_000),
      status.then((s) => {
        throw new Error(`Edge "${region.name}" exited with code ${s.code} before answering`);
      }),
    ]);
  } catch (error) {
    await edge.stop(1000);
    throw error;
  }
  return edge;
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // already exited
  }
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`"${url}/healthz" did not answer within ${timeoutMs} ms`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
