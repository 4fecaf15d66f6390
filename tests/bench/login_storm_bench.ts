/**
 * Login storm: event-loop lag and catalog latency while many logins hash passwords, for argon2id
 * through the native addon (`@node-rs/argon2`, threadpool: local), argon2id in WebAssembly
 * (`hash-wasm` in Web Workers: the edge entry) and bcryptjs at 12 rounds (pure JS, event loop).
 * Also the time of one hash for each argon2id build, measured alone.
 *
 * Not part of `deno task test`. Run:
 *   deno run --unstable-kv -A tests/bench/login_storm_bench.ts [--seconds=4] [--logins=20]
 *
 * `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { loadConfig } from "../../edge/platform/config.ts";
import { createLogger } from "../../edge/platform/log.ts";
import bcrypt from "bcryptjs";
import {
  ARGON2ID_PARAMS,
  argon2idAlgorithm,
  createPasswordHasher,
  defaultHashConcurrency,
  type PasswordAlgorithm,
} from "../../edge/auth/passwords.ts";
import { createArgon2idWasmAlgorithm, hashArgon2idWasm } from "../../edge/auth/argon2_wasm.ts";
import { closeServices, createApp, openServices } from "../../main.ts";
import { percentile } from "./stats.ts";

const CATALOG_CLIENTS = 4;

/** bcrypt via `bcryptjs` (pure JS, computing on the event loop): the comparison the shop avoids. */
function bcryptAlgorithm(rounds: number): PasswordAlgorithm {
  return {
    name: `bcrypt-${rounds}`,
    recognizes: (encoded) => /^\$2[aby]\$/.test(encoded),
    hash: (password) => bcrypt.hash(password, rounds),
    verify: (encoded, password) => bcrypt.compare(password, encoded),
    needsRehash: (encoded) => bcrypt.getRounds(encoded) < rounds,
  };
}

export interface LoginStormOptions {
  /** Length of each phase (quiet, then storm). */
  seconds?: number;
  /** Concurrent clients logging in during the storm. */
  logins?: number;
}

/** One argon2id build hashing alone, one hash after another; times in ms. */
export interface HashTimeRow {
  hasher: string;
  hashes: number;
  p50: number;
  p95: number;
}

/** Labels a PasswordAlgorithm for the tables without changing what it does. */
function labelled(algorithm: PasswordAlgorithm, name: string): PasswordAlgorithm {
  return { ...algorithm, name };
}

async function timeHashes(name: string, hash: () => Promise<string>, count: number) {
  await hash(); // warm up: module load, WebAssembly compilation, worker start
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await hash();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { hasher: name, hashes: count, p50: percentile(times, 50), p95: percentile(times, 95) };
}

/** The time of one hash: native addon, wasm in a worker, and wasm on the calling thread. */
export async function benchHashTime(count = 20): Promise<HashTimeRow[]> {
  const native = argon2idAlgorithm();
  const wasm = createArgon2idWasmAlgorithm({ workers: 1 });
  try {
    return [
      await timeHashes("argon2id native (threadpool)", () => native.hash("benchmark"), count),
      await timeHashes("argon2id wasm (Web Worker)", () => wasm.hash("benchmark"), count),
      await timeHashes(
        "argon2id wasm (event loop, no Worker)",
        () => hashArgon2idWasm("benchmark", ARGON2ID_PARAMS),
        count,
      ),
    ];
  } finally {
    await wasm.close();
  }
}

/** One phase of one hasher; times in ms. */
export interface LoginStormRow {
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

interface Phase {
  storm: boolean;
  hasher: string;
  email: string;
  seconds: number;
  logins: number;
}

async function runPhase(base: string, options: Phase): Promise<LoginStormRow> {
  const lags: number[] = [];
  let expected = performance.now() + 10;
  const sampler = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + 10;
  }, 10);
  const deadline = performance.now() + options.seconds * 1000;
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
    ...(options.storm ? Array.from({ length: options.logins }, login) : []),
  ]);
  clearInterval(sampler);
  lags.sort((a, b) => a - b);
  catalogTimes.sort((a, b) => a - b);
  return {
    hasher: options.hasher,
    phase: options.storm ? `storm (${options.logins} login clients)` : "no logins",
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    lagMax: lags.at(-1) ?? 0,
    catalogP99: percentile(catalogTimes, 99),
    catalogRps: catalogTimes.length / options.seconds,
    logins,
    busy,
  };
}

async function benchHasher(
  algorithm: PasswordAlgorithm,
  options: { seconds: number; logins: number },
): Promise<LoginStormRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "login-storm-" });
  try {
    return await serveAndMeasure(algorithm, { ...options, dir });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function serveAndMeasure(
  algorithm: PasswordAlgorithm,
  options: { seconds: number; logins: number; dir: string },
): Promise<LoginStormRow[]> {
  const { dir, ...phaseOptions } = options;
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: "error",
    RATE_LIMIT_LOGIN_IP: "999999/60",
    RATE_LIMIT_LOGIN_ACCOUNT_IP: "999999/60",
    RATE_LIMIT_LOGIN_ACCOUNT: "999999/60",
    RATE_LIMIT_REGISTER_IP: "1000/60",
  });
  const logger = createLogger("error", { write: () => {} });
  // The shop's own defaults: cores − 1 hashes in flight (and as many wasm workers), queue 64.
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
    const phase = { hasher: algorithm.name, email, ...phaseOptions };
    const quiet = await runPhase(base, { ...phase, storm: false });
    const storm = await runPhase(base, { ...phase, storm: true });
    return [quiet, storm];
  } finally {
    await server.shutdown();
    await closeServices(services);
  }
}

/**
 * Serves the app in this process (500 products) once per hasher, argon2id native, argon2id wasm
 * (one worker per hash slot, as the edge entry runs it) and bcryptjs-12, and measures a quiet
 * phase and a login-storm phase for each.
 */
export async function benchLoginStorm(options: LoginStormOptions = {}): Promise<LoginStormRow[]> {
  const phase = { seconds: options.seconds ?? 4, logins: options.logins ?? 20 };
  const workers = defaultHashConcurrency();
  return [
    ...await benchHasher(labelled(argon2idAlgorithm(), "argon2id native"), phase),
    ...await benchHasher(
      labelled(createArgon2idWasmAlgorithm({ workers }), `argon2id wasm (${workers} worker)`),
      phase,
    ),
    ...await benchHasher(bcryptAlgorithm(12), phase),
  ];
}

/** The hash-time rows as a Markdown table. */
export function formatHashTime(rows: HashTimeRow[]): string {
  const f = (n: number) => n.toFixed(1);
  return [
    `one argon2id hash (m=${ARGON2ID_PARAMS.memoryCost} KiB, t=${ARGON2ID_PARAMS.timeCost}, ` +
    `p=${ARGON2ID_PARAMS.parallelism}), one after another, Deno ${Deno.version.deno}`,
    "",
    "| hasher | hashes | p50 ms | p95 ms |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${r.hasher} | ${r.hashes} | ${f(r.p50)} | ${f(r.p95)} |`),
  ].join("\n");
}

/** The rows as a Markdown table under a one-line description of the run. */
export function formatLoginStorm(rows: LoginStormRow[], options: LoginStormOptions = {}): string {
  const seconds = options.seconds ?? 4;
  const f = (n: number) => n.toFixed(1);
  return [
    `login storm, ${seconds} s per phase, ${CATALOG_CLIENTS} catalog clients, ` +
    `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
    "",
    "| hasher | phase | loop lag p50 ms | p99 ms | max ms | catalog p99 ms | catalog req/s | logins/s | 503s |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.hasher} | ${r.phase} | ${f(r.lagP50)} | ${f(r.lagP99)} | ${f(r.lagMax)} | ` +
      `${f(r.catalogP99)} | ${f(r.catalogRps)} | ${f(r.logins / seconds)} | ${r.busy} |`
    ),
  ].join("\n");
}

if (import.meta.main) {
  const args = Object.fromEntries(
    Deno.args.map((a) => a.replace(/^--/, "").split("=")).map(([k, v]) => [k, Number(v)]),
  );
  const options = { seconds: args.seconds, logins: args.logins };
  console.log(formatHashTime(await benchHashTime()));
  console.log();
  console.log(formatLoginStorm(await benchLoginStorm(options), options));
}
