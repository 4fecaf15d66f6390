/**
 * Checks the load tool against `hey` on the same target (a warm cached product page of a fresh
 * shop) at the same concurrency, and measures what one request costs the tool:
 *
 * - paced: 64 clients each sending 40 requests a second (`hey -q 40`; the tool with a 24.5 ms
 *   think time), so neither generator nor shop is saturated: req/s and p50 should agree within
 *   15 %;
 * - flat out: 64 clients without pause. On two shared cores req/s here is set by how much CPU
 *   each generator leaves the shop, so the figure to read is generator CPU per request;
 * - headroom: the CPU the tool would need for the `10k` preset's offered rate.
 *
 * Both generators run as subprocesses whose CPU is read from /proc. Linux only. Not part of
 * `deno task test`:
 *
 *   deno run --allow-all tests/bench/generator_bench.ts
 */
import { presetOptions } from "../load/config.ts";
import { productSlugs, startShop } from "./shop_process.ts";

export interface GeneratorRun {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU the generator process used (user + system). */
  cpuSeconds: number;
  microsPerRequest: number;
}

export interface GeneratorResult {
  pageUrl: string;
  clients: number;
  seconds: number;
  paced: { hey: GeneratorRun; tool: GeneratorRun; rpsDifference: number; p50Difference: number };
  flatOut: { hey: GeneratorRun; tool: GeneratorRun };
  /** The `10k` preset's offered load and what it costs the tool at the flat-out cost. */
  tenK: { offeredRps: number; coresNeeded: number; maxRpsPerProcess: number };
}

const CLIENTS = 64;
const SECONDS = 10;
const PACED_RATE = 40;
const TICKS_PER_SECOND = 100;
const LOAD_MAIN = new URL("../load/main.ts", import.meta.url).pathname;

/** Runs a command to its end, reading its CPU from /proc just before it exits. */
async function runMeasured(command: string, args: string[]) {
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).spawn();
  let ticks = 0;
  const poll = setInterval(async () => {
    try {
      const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks = Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }, 50);
  const output = await child.output();
  clearInterval(poll);
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr).slice(0, 400)}`);
  }
  return { stdout: new TextDecoder().decode(output.stdout), cpuSeconds: ticks / TICKS_PER_SECOND };
}

function secondsToMs(text: string | undefined): number {
  return Number(text) * 1000;
}

async function runHey(url: string, ratePerClient?: number): Promise<GeneratorRun> {
  const args = ["-c", String(CLIENTS), "-z", `${SECONDS}s`, "-H", "Accept-Encoding: gzip, br"];
  if (ratePerClient) args.push("-q", String(ratePerClient));
  const { stdout, cpuSeconds } = await runMeasured("hey", [...args, url]);
  const requests = [...stdout.matchAll(/\[\d{3}\]\s+(\d+) responses/g)]
    .reduce((sum, match) => sum + Number(match[1]), 0);
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50Ms: secondsToMs(/50%+ in ([\d.]+) secs/.exec(stdout)?.[1]),
    p99Ms: secondsToMs(/99%+ in ([\d.]+) secs/.exec(stdout)?.[1]),
    cpuSeconds,
    microsPerRequest: cpuSeconds * 1e6 / Math.max(1, requests),
  };
}

async function runTool(baseUrl: string, path: string, thinkSeconds: number): Promise<GeneratorRun> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const { cpuSeconds } = await runMeasured(Deno.execPath(), [
      "run",
      "-A",
      LOAD_MAIN,
      "--url",
      baseUrl,
      "--scenario",
      "path",
      "--path",
      path,
      "--stages",
      `0s:${CLIENTS},${SECONDS}s:${CLIENTS}`,
      "--think",
      `${thinkSeconds}-${thinkSeconds}`,
      "--workers",
      "0",
      "--grace",
      "2s",
      "--quiet",
      "--threshold",
      "failed<0.01",
      "--report",
      json.replace(/\.json$/, ".html"),
      "--json",
      json,
    ]);
    const result = JSON.parse(await Deno.readTextFile(json));
    return {
      requests: result.reqs,
      rps: result.rps,
      p50Ms: result.duration.med,
      p99Ms: result.duration.p99,
      cpuSeconds,
      microsPerRequest: cpuSeconds * 1e6 / Math.max(1, result.reqs),
    };
  } finally {
    await Deno.remove(json).catch(() => {});
    await Deno.remove(json.replace(/\.json$/, ".html")).catch(() => {});
  }
}

/** Requests a second the `10k` preset offers at full strength (think 1–4 s, ~4.1 steps). */
export function tenKOfferedRps(): number {
  const options = presetOptions("10k");
  const vus = Math.max(...options.stages.map((stage) => stage.target));
  const thinkSeconds = (options.thinkMs[0] + options.thinkMs[1]) / 2 / 1000;
  const requestsPerIteration = 4 + options.loginShare;
  return Math.round(vus * requestsPerIteration / thinkSeconds);
}

function difference(a: number, b: number): number {
  return Math.abs(a - b) / b;
}

/** Starts a fresh shop, warms one product page and runs the four measurements. */
export async function benchGenerator(): Promise<GeneratorResult> {
  const shop = await startShop();
  try {
    const [slug] = await productSlugs(shop.url, 1);
    const path = `/p/${slug}`;
    const pageUrl = `${shop.url}${path}`;
    for (let i = 0; i < 2; i++) await (await fetch(pageUrl)).body?.cancel();
    const pacedThink = (1000 / PACED_RATE - 0.5) / 1000;
    const pacedHey = await runHey(pageUrl, PACED_RATE);
    const pacedTool = await runTool(shop.url, path, pacedThink);
    const flatHey = await runHey(pageUrl);
    const flatTool = await runTool(shop.url, path, 0);
    const offeredRps = tenKOfferedRps();
    return {
      pageUrl,
      clients: CLIENTS,
      seconds: SECONDS,
      paced: {
        hey: pacedHey,
        tool: pacedTool,
        rpsDifference: difference(pacedTool.rps, pacedHey.rps),
        p50Difference: difference(pacedTool.p50Ms, pacedHey.p50Ms),
      },
      flatOut: { hey: flatHey, tool: flatTool },
      tenK: {
        offeredRps,
        coresNeeded: offeredRps * flatTool.microsPerRequest / 1e6,
        maxRpsPerProcess: Math.round(1e6 / flatTool.microsPerRequest),
      },
    };
  } finally {
    await shop.stop();
  }
}

/** The result as the lines the CLI prints. */
export function formatGenerator(result: GeneratorResult): string {
  const row = (name: string, run: GeneratorRun) =>
    `  ${name.padEnd(5)} ${run.rps.toFixed(0).padStart(7)} req/s  p50 ${
      run.p50Ms.toFixed(2).padStart(6)
    } ms  p99 ${run.p99Ms.toFixed(2).padStart(7)} ms  ${run.requests} reqs  cpu ${
      run.cpuSeconds.toFixed(2)
    } s = ${run.microsPerRequest.toFixed(1)} µs/req`;
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  const { paced, flatOut, tenK } = result;
  const agree = paced.rpsDifference <= 0.15 && paced.p50Difference <= 0.15;
  return [
    `${result.pageUrl}, ${result.clients} clients, ${result.seconds} s each`,
    `paced (${PACED_RATE} req/s per client):`,
    row("hey", paced.hey),
    row("tool", paced.tool),
    `  req/s differ by ${percent(paced.rpsDifference)}, p50 by ${percent(paced.p50Difference)}: ${
      agree ? "within" : "NOT within"
    } 15 %`,
    "flat out (no pause):",
    row("hey", flatOut.hey),
    row("tool", flatOut.tool),
    `10k preset: offers ~${tenK.offeredRps} req/s; at ${
      flatOut.tool.microsPerRequest.toFixed(1)
    } µs/req the tool needs ${
      tenK.coresNeeded.toFixed(2)
    } cores (one process drives ≤ ${tenK.maxRpsPerProcess} req/s)`,
  ].join("\n");
}

if (import.meta.main) console.log(formatGenerator(await benchGenerator()));
