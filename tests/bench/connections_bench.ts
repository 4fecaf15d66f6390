/**
 * Shop memory per open connection: RSS with 1,000, 5,000 and 10,000 idle keep-alive connections
 * (each asked for the home page once), then after they all closed and after the shop gave the
 * freed heap back. Linux only. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/connections_bench.ts
 *
 * `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { startProbe } from "./process_probe.ts";
import { startShop } from "./shop_process.ts";

export interface ConnectionsRow {
  connections: number;
  rssMiB: number;
  /** glibc heap: where Deno keeps per-connection state. */
  heapMiB: number;
  /** (RSS − RSS before any connection) / connections. */
  perConnectionKiB: number;
}

export interface ConnectionsResult {
  baselineMiB: number;
  rows: ConnectionsRow[];
  /** 2 s after every connection closed. */
  closedMiB: number;
  /** After the shop's memory releaser had its turn (≤ 12 s later). */
  releasedMiB: number;
}

const STEPS = [1000, 5000, 10_000];
const REQUEST = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n");

/** Opens connections up to `target` in batches, each asking for `/` once and then idling. */
async function openUpTo(conns: Deno.Conn[], port: number, target: number): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  while (conns.length < target) {
    const batch = Math.min(250, target - conns.length);
    await Promise.all(Array.from({ length: batch }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      await conn.write(REQUEST);
      await conn.read(buffer); // the head and (most of) the page; the rest waits in the socket
    }));
  }
}

async function settle(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function rssNow(pid: number, port: number): Promise<{ rss: number; heap: number }> {
  const probe = await startProbe(pid, port, 60_000);
  const [sample] = await probe.stop();
  return { rss: sample.rssMiB, heap: sample.heapMiB };
}

/** Starts a fresh shop (idle timeout out of the way) and measures RSS per open connection. */
export async function benchConnections(): Promise<ConnectionsResult> {
  const shop = await startShop({ env: { IDLE_TIMEOUT_MS: "600000" } });
  const conns: Deno.Conn[] = [];
  const port = Number(new URL(shop.url).port);
  try {
    await (await fetch(`${shop.url}/`)).body?.cancel();
    // Seeding garbage is collected and the freed heap given back (the releaser runs every 10 s).
    await settle(12_000);
    const baseline = await rssNow(shop.pid, port);
    const rows: ConnectionsRow[] = [];
    for (const target of STEPS) {
      await openUpTo(conns, port, target);
      await settle(2000);
      const { rss, heap } = await rssNow(shop.pid, port);
      rows.push({
        connections: target,
        rssMiB: rss,
        heapMiB: heap,
        perConnectionKiB: Math.round((rss - baseline.rss) * 1024 / target * 10) / 10,
      });
    }
    for (const conn of conns.splice(0)) conn.close();
    await settle(2000);
    const closed = await rssNow(shop.pid, port);
    await settle(10_000);
    const released = await rssNow(shop.pid, port);
    return { baselineMiB: baseline.rss, rows, closedMiB: closed.rss, releasedMiB: released.rss };
  } finally {
    for (const conn of conns) conn.close();
    await shop.stop();
  }
}

/** The result as the lines the CLI prints. */
export function formatConnections(result: ConnectionsResult): string {
  return [
    `shop RSS before any connection: ${result.baselineMiB} MiB`,
    ...result.rows.map((row) =>
      `${String(row.connections).padStart(6)} open keep-alive connections: RSS ${row.rssMiB} MiB ` +
      `(glibc heap ${row.heapMiB} MiB), ${row.perConnectionKiB} KiB per connection`
    ),
    `all closed (2 s later): ${result.closedMiB} MiB; after the memory releaser: ` +
    `${result.releasedMiB} MiB (${
      Math.round((result.releasedMiB / result.baselineMiB - 1) * 100)
    } % above the start)`,
  ].join("\n");
}

if (import.meta.main) console.log(formatConnections(await benchConnections()));
