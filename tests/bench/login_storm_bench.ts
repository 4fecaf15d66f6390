/**
 * Login storm: event-loop lag and catalog latency while many logins hash passwords, for argon2id
 * (`@node-rs/argon2`, threadpool) against bcryptjs at 12 rounds (pure JS, event loop).
 *
 * Not part of `deno task test`. Run:
 *   deno run --unstable-kv -A tests/bench/login_storm_bench.ts [--seconds=4] [--logins=20]
 */
import { loadConfig } from "../../edge/config.ts";
import { createLogger } from "../../edge/log.ts";
import {
  argon2idAlgorithm,
  bcryptAlgorithm,
  createPasswordHasher,
  type PasswordAlgorithm,
} from "../../edge/passwords.ts";
import { closeServices, createApp, openServices } from "../../main.ts";

const args = Object.fromEntries(
  Deno.args.map((a) => a.replace(/^--/, "").split("=")).map(([k, v]) => [k, Number(v)]),
);
const SECONDS = args.seconds ?? 4;
const LOGIN_CLIENTS = args.logins ?? 20;
const CATALOG_CLIENTS = 4;

interface Row {
  hasher: string;
  phase: string;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  catalogP99: number;
  catalogRps: number;
  logins: number;
  busy: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runPhase(
  base: string,
  options: { storm: boolean; hasher: string; email: string },
): Promise<Row> {
  const lags: number[] = [];
  let expected = performance.now() + 10;
  const sampler = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + 10;
  }, 10);
  const deadline = performance.now() + SECONDS * 1000;
  const catalogTimes: number[] = [];
  let logins = 0;
  let busy = 0;
  const catalog = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const response = await fetch(`${base}/api/products?limit=24`);
      await response.arrayBuffer();
      catalogTimes.push(performance.now() - started);
    }
  };
  const login = async () => {
    while (performance.now() < deadline) {
      const response = await fetch(`${base}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: options.email, password: "benchmark-password" }),
      });
      await response.arrayBuffer();
      if (response.status === 200) logins++;
      else if (response.status === 503) {
        busy++;
        await new Promise((r) => setTimeout(r, 50));
      } else throw new Error(`login answered ${response.status}`);
    }
  };
  await Promise.all([
    ...Array.from({ length: CATALOG_CLIENTS }, catalog),
    ...(options.storm ? Array.from({ length: LOGIN_CLIENTS }, login) : []),
  ]);
  clearInterval(sampler);
  return {
    hasher: options.hasher,
    phase: options.storm ? `storm (${LOGIN_CLIENTS} login clients)` : "no logins",
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    lagMax: Math.max(...lags),
    catalogP99: percentile(catalogTimes, 99),
    catalogRps: catalogTimes.length / SECONDS,
    logins,
    busy,
  };
}

async function benchHasher(algorithm: PasswordAlgorithm): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "login-storm-" });
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: "error",
    RATE_LIMIT_LOGIN_IP: "999999/60",
    RATE_LIMIT_LOGIN_ACCOUNT: "999999/60",
    RATE_LIMIT_REGISTER_IP: "1000/60",
  });
  const logger = createLogger("error", { write: () => {} });
  const passwords = await createPasswordHasher({ algorithm, legacy: [], maxQueue: 64 });
  const services = await openServices(config, logger, {
    seedProductCount: 500,
    auth: { passwords, denylistPollMs: 0 },
  });
  const app = createApp(services);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const email = "bench@example.com";
    const registered = await fetch(`${base}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "benchmark-password" }),
    });
    await registered.arrayBuffer();
    // Warm up the catalog path and the JIT.
    for (let i = 0; i < 50; i++) await (await fetch(`${base}/api/products?limit=24`)).arrayBuffer();
    const quiet = await runPhase(base, { storm: false, hasher: algorithm.name, email });
    const storm = await runPhase(base, { storm: true, hasher: algorithm.name, email });
    return [quiet, storm];
  } finally {
    await server.shutdown();
    await closeServices(services);
    await Deno.remove(dir, { recursive: true });
  }
}

const rows = [
  ...await benchHasher(argon2idAlgorithm()),
  ...await benchHasher(bcryptAlgorithm(12)),
];
const f = (n: number) => n.toFixed(1);
console.log(
  `login storm, ${SECONDS} s per phase, ${CATALOG_CLIENTS} catalog clients, ` +
    `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}\n`,
);
console.log(
  "| hasher | phase | loop lag p50 ms | p99 ms | max ms | catalog p99 ms | catalog req/s | logins/s | 503s |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.hasher} | ${r.phase} | ${f(r.lagP50)} | ${f(r.lagP99)} | ${f(r.lagMax)} | ` +
      `${f(r.catalogP99)} | ${f(r.catalogRps)} | ${f(r.logins / SECONDS)} | ${r.busy} |`,
  );
}
