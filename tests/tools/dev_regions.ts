/**
 * `deno task dev:regions`: the shop in three regions on this machine, with simulated distance.
 *
 *   deno task dev:regions [--regions us-east:0,eu-west:80,ap-southeast:160] [--jitter 8]
 *                         [--replica sqld|embedded] [--port 8000]
 *
 * The first region is the primary region (sqld primary, Redis behind the Upstash gateway, an edge
 * on --port); every other region gets its own edge (--port + i, own REGION and KV file) and its
 * own read replica, and reaches the primary region through delay proxies carrying its RTT
 * (tests/services/regions.ts). Type `cut <region>`, `heal <region>` or `status` while it runs.
 *
 * Ctrl-C or SIGTERM stops every edge, replica, proxy and server; edges still running when this
 * process ends are SIGKILLed, so nothing outlives it.
 */
import { readLines } from "./lines.ts";
import type { CutMode } from "../services/delay_proxy.ts";
import {
  type EdgeProcess,
  type RegionSpec,
  type RegionsTopology,
  startEdgeProcess,
  startRegions,
} from "../services/regions.ts";

const DEFAULT_REGIONS = "us-east:0,eu-west:80,ap-southeast:160";
/** The admin account every topology started here has (a local development credential). */
export const ADMIN = { email: "admin@example.com", password: "admin-password" };
const USAGE = "Usage: deno task dev:regions [--regions name:rtt,...] [--jitter ms] " +
  "[--replica sqld|embedded] [--port first-port]";

export interface DevRegionsOptions {
  regions: RegionSpec[];
  jitterMs: number;
  replica: "sqld" | "embedded";
  /** First edge port; 0 picks free ports. */
  port: number;
}

/** Parses the command line; throws `RangeError` with a one-line message. */
export function parseArgs(args: string[]): DevRegionsOptions {
  const options: DevRegionsOptions = {
    regions: parseRegions(DEFAULT_REGIONS),
    jitterMs: 8,
    replica: "sqld",
    port: 8000,
  };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new RangeError(`Missing value for "${name}"`);
      return v;
    };
    if (name === "--regions") options.regions = parseRegions(value());
    else if (name === "--jitter") options.jitterMs = numberIn(name, value(), 0, 1000);
    else if (name === "--port") options.port = numberIn(name, value(), 0, 65000);
    else if (name === "--replica") {
      const replica = value();
      if (replica !== "sqld" && replica !== "embedded") {
        throw new RangeError(`--replica must be sqld or embedded, got "${replica}"`);
      }
      options.replica = replica;
    } else throw new RangeError(`Unknown argument "${args[i]}"`);
  }
  if (options.regions.length < 2) throw new RangeError("--regions needs at least two regions");
  return options;
}

function parseRegions(text: string): RegionSpec[] {
  return text.split(",").map((part) => {
    const match = /^([a-z][a-z0-9-]*):(\d+)$/.exec(part.trim());
    if (!match) throw new RangeError(`Regions look like "name:rtt-ms", got "${part}"`);
    return { name: match[1], rttMs: Number(match[2]) };
  });
}

function numberIn(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** The topology and every edge, up and serving. */
export interface RunningRegions {
  topology: RegionsTopology;
  edges: EdgeProcess[];
  stop(): Promise<void>;
}

/** Starts the topology, the primary edge (which seeds), then the other edges once replicated. */
export async function startDevRegions(
  options: DevRegionsOptions,
  edgeOptions: { env?: Record<string, string>; output?: "inherit" | "null" } = {},
): Promise<RunningRegions> {
  const { env: edgeEnv = {}, output } = edgeOptions;
  const topology = await startRegions({
    regions: options.regions,
    jitterMs: options.jitterMs,
    replica: options.replica,
  });
  const edges: EdgeProcess[] = [];
  const stop = async () => {
    await Promise.all(edges.map((edge) => edge.stop()));
    await topology.stop();
  };
  try {
    const portOf = (i: number) => options.port === 0 ? undefined : options.port + i;
    const [primary, ...remote] = topology.regions;
    edges.push(
      await startEdgeProcess(primary, {
        port: portOf(0),
        env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...edgeEnv },
        output,
      }),
    );
    // Remote edges serve from their replica: let it receive the seeded catalog first.
    await topology.waitForReplicas();
    edges.push(
      ...await Promise.all(
        remote.map((region, i) =>
          startEdgeProcess(region, { port: portOf(i + 1), env: edgeEnv, output })
        ),
      ),
    );
    return { topology, edges, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What a person needs to know to use the running topology. */
export function describe(running: RunningRegions): string {
  const { topology, edges } = running;
  const lines = [topology.describe(), "", "Point a browser at the edge of each region:"];
  for (const [i, edge] of edges.entries()) {
    const region = topology.regions[i];
    const where = region.isPrimary ? "primary region" : `${region.rttMs} ms from the primary`;
    const url = edge.url.replace("127.0.0.1", "localhost");
    lines.push(`  ${region.name.padEnd(14)} ${url.padEnd(24)} (${where}, edge pid ${edge.pid})`);
  }
  lines.push(
    "",
    `Admin: ${ADMIN.email} / ${ADMIN.password}. Each answer from a remote region carries ` +
      "Server-Timing: the calls it made out of its region.",
    "Commands: cut <region> [blackhole|refuse], heal <region>, status. Ctrl-C stops everything.",
  );
  return lines.join("\n");
}

/** Reads `cut`, `heal` and `status` commands from stdin until it closes. */
async function readCommands(running: RunningRegions): Promise<void> {
  for await (const line of readLines(Deno.stdin.readable)) {
    const [command, name, mode = "blackhole"] = line.trim().split(/\s+/);
    try {
      if (command === "cut") {
        if (mode !== "blackhole" && mode !== "refuse") {
          throw new RangeError(`Unknown mode "${mode}"`);
        }
        running.topology.cut(name, mode as CutMode);
        console.log(`region "${name}" cut off (${mode})`);
      } else if (command === "heal") {
        running.topology.heal(name);
        console.log(`region "${name}" reconnected`);
      } else if (command === "status") {
        for (const region of running.topology.regions) {
          const state = region.links ? region.links.database.state : "primary";
          console.log(`  ${region.name.padEnd(14)} ${state}`);
        }
      } else if (command) {
        console.log("Commands: cut <region> [blackhole|refuse], heal <region>, status");
      }
    } catch (error) {
      console.log((error as Error).message);
    }
  }
}

async function main(args: string[]): Promise<number> {
  let options: DevRegionsOptions;
  try {
    options = parseArgs(args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  const running = await startDevRegions(options);
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      console.log(`\n${signal}: stopping every edge, replica, proxy and server…`);
      await running.stop();
      Deno.exit(0);
    })();
  };
  // tests/services/sqld.ts also stops its processes on these signals; edges left when the
  // process ends are SIGKILLed by tests/services/regions.ts.
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  console.log(`\nRegions ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  console.log(describe(running));
  if (Deno.stdin.isTerminal()) await readCommands(running);
  return await new Promise<number>(() => setInterval(() => {}, 1 << 30));
}

if (import.meta.main) Deno.exit(await main(Deno.args));
