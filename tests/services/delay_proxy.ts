/**
 * A user-space TCP proxy that puts simulated distance on one link: every byte is delivered half a
 * round-trip time after it arrived, in each direction, with optional jitter. This kernel has no
 * `netem`, so the regions topology (tests/services/regions.ts) places one of these on every
 * cross-region link (edge → primary, edge → Redis, replica → primary gRPC).
 *
 * What it models, and what it does not:
 * - one-way delay `rttMs / 2` per chunk, plus uniform jitter in `[-jitterMs/2, +jitterMs/2]`,
 *   never reordering bytes (a late chunk holds back the ones after it, as TCP would);
 * - the TCP handshake: a new connection's first bytes wait one extra RTT, so a fresh connection
 *   costs what it costs over a real link and a kept-alive one does not;
 * - a cut link: `cut("blackhole")` holds every byte (a partition: callers time out),
 *   `cut("refuse")` resets every connection and refuses new ones (callers fail at once);
 *   `heal()` restores delivery (held bytes then flow, as TCP retransmission would deliver them).
 * - no bandwidth limit and no loss.
 *
 * @example
 * ```ts
 * const link = await startDelayProxy({ targetPort: sqld.port, rttMs: 80, jitterMs: 4 });
 * // point the client at link.url instead of the target
 * await link.stop();
 * ```
 */

const HOST = "127.0.0.1";
/** Bytes read ahead of delivery per direction before reading pauses (bounded memory). */
const MAX_QUEUED_BYTES = 4 << 20;
const READ_CHUNK_BYTES = 64 * 1024;

export interface DelayProxyOptions {
  /** Port of the target on `targetHostname`. */
  targetPort: number;
  targetHostname?: string;
  /** Simulated round-trip time; each direction is delayed by half of it. */
  rttMs: number;
  /** Spread of the round-trip time (uniform, centred on `rttMs`). Default 0. */
  jitterMs?: number;
  /** Add one RTT before a new connection's first bytes (the handshake). Default true. */
  handshake?: boolean;
  /** Port to listen on; default 0 (a free one). */
  port?: number;
  /** Random source in [0, 1) for jitter; tests pass a fixed one. */
  random?: () => number;
}

/** How a cut link behaves: held bytes (timeouts) or reset connections (fast failures). */
export type CutMode = "blackhole" | "refuse";

export interface DelayProxyStats {
  /** Connections accepted since start. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Bytes delivered towards the target and back. */
  bytesToTarget: number;
  bytesFromTarget: number;
}

/** A running link. */
export interface DelayProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: where clients of the target connect instead. */
  readonly url: string;
  readonly rttMs: number;
  readonly jitterMs: number;
  /** The current state of the link. */
  readonly state: "up" | CutMode;
  /** Breaks the link (see `CutMode`). */
  cut(mode: CutMode): void;
  /** Restores delivery. */
  heal(): void;
  stats(): DelayProxyStats;
  /** Closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 that forwards to the target with the configured delay. */
export function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const { rttMs, jitterMs = 0 } = options;
  if (!(rttMs >= 0) || !(jitterMs >= 0) || jitterMs > 2 * rttMs) {
    throw new RangeError(
      `rttMs must be >= 0 and jitterMs within [0, 2 × rttMs], got "${rttMs}" and "${jitterMs}"`,
    );
  }
  const listener = Deno.listen({ hostname: HOST, port: options.port ?? 0 });
  const link = new Link(listener, options);
  return Promise.resolve(link);
}

/** One direction of one connection: chunks waiting for their delivery time, in order. */
class Direction {
  readonly #queue: { bytes: Uint8Array; due: number }[] = [];
  #queuedBytes = 0;
  #lastDue = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  #drained: (() => void) | undefined;

  constructor(
    private readonly link: Link,
    private readonly notBefore: number,
    private readonly count: (bytes: number) => void,
  ) {}

  /** Reads `from` until it ends, queueing each chunk with its delivery time. */
  async read(from: Deno.TcpConn): Promise<void> {
    try {
      while (true) {
        while (this.#queuedBytes > MAX_QUEUED_BYTES) {
          await new Promise<void>((resolve) => this.#drained = resolve);
        }
        const buffer = new Uint8Array(READ_CHUNK_BYTES);
        const n = await from.read(buffer);
        if (n === null) break;
        const arrived = Math.max(performance.now(), this.notBefore);
        // Never earlier than the chunk before: bytes of one stream are not reordered.
        const due = Math.max(this.#lastDue, arrived + this.link.oneWayDelay());
        this.#lastDue = due;
        this.#queue.push({ bytes: buffer.subarray(0, n), due });
        this.#queuedBytes += n;
        this.#wake?.();
      }
    } finally {
      this.#ended = true;
      this.#wake?.();
    }
  }

  /** Writes queued chunks to `to` when they are due; half-closes `to` once the source ended. */
  async deliver(to: Deno.TcpConn): Promise<void> {
    while (true) {
      const next = this.#queue[0];
      if (!next) {
        if (this.#ended) break;
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      const wait = next.due - performance.now();
      if (wait > 0.5) await sleep(wait);
      await this.link.whileBlackholed();
      this.#queue.shift();
      await writeAll(to, next.bytes);
      this.count(next.bytes.length);
      this.#queuedBytes -= next.bytes.length;
      if (this.#queuedBytes <= MAX_QUEUED_BYTES) this.#drained?.();
    }
    await to.closeWrite().catch(() => {});
  }
}

class Link implements DelayProxy {
  readonly port: number;
  readonly url: string;
  readonly rttMs: number;
  readonly jitterMs: number;
  #state: "up" | CutMode = "up";
  #healed: Promise<void> = Promise.resolve();
  #heal: () => void = () => {};
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #stats: DelayProxyStats = {
    connections: 0,
    open: 0,
    bytesToTarget: 0,
    bytesFromTarget: 0,
  };
  readonly #accepting: Promise<void>;
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly listener: Deno.TcpListener,
    private readonly options: DelayProxyOptions,
  ) {
    this.port = listener.addr.port;
    this.url = `http://${HOST}:${this.port}`;
    this.rttMs = options.rttMs;
    this.jitterMs = options.jitterMs ?? 0;
    this.#accepting = this.#accept();
  }

  get state() {
    return this.#state;
  }

  /** Half the RTT, spread by the jitter. */
  oneWayDelay(): number {
    const random = this.options.random ?? Math.random;
    return Math.max(0, (this.rttMs + (random() - 0.5) * this.jitterMs) / 2);
  }

  /** Resolves at once while the link is up; while it is blackholed, once it heals. */
  whileBlackholed(): Promise<void> {
    return this.#healed;
  }

  cut(mode: CutMode): void {
    if (this.#state === "blackhole") this.#heal();
    this.#state = mode;
    if (mode === "blackhole") {
      this.#healed = new Promise((resolve) => this.#heal = resolve);
    } else {
      this.#healed = Promise.resolve();
      for (const conn of this.#conns) closeQuietly(conn);
    }
  }

  heal(): void {
    this.#state = "up";
    this.#heal();
    this.#healed = Promise.resolve();
  }

  stats(): DelayProxyStats {
    return { ...this.#stats };
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.heal();
      closeQuietly(this.listener);
      await this.#accepting;
      for (const conn of this.#conns) closeQuietly(conn);
      await Promise.allSettled([...this.#tasks]);
    })();
    return this.#stopping;
  }

  async #accept(): Promise<void> {
    while (true) {
      let client: Deno.TcpConn;
      try {
        client = await this.listener.accept();
      } catch {
        return; // listener closed
      }
      if (this.#state === "refuse") {
        closeQuietly(client);
        continue;
      }
      const task = this.#serve(client).finally(() => this.#tasks.delete(task));
      this.#tasks.add(task);
    }
  }

  async #serve(client: Deno.TcpConn): Promise<void> {
    const accepted = performance.now();
    this.#stats.connections++;
    this.#stats.open++;
    this.#conns.add(client);
    let target: Deno.TcpConn | undefined;
    try {
      target = await Deno.connect({
        hostname: this.options.targetHostname ?? HOST,
        port: this.options.targetPort,
      });
      this.#conns.add(target);
      client.setNoDelay(true);
      target.setNoDelay(true);
      const handshake = this.options.handshake ?? true;
      const up = new Direction(
        this,
        handshake ? accepted + this.rttMs : accepted,
        (n) => this.#stats.bytesToTarget += n,
      );
      const down = new Direction(this, accepted, (n) => this.#stats.bytesFromTarget += n);
      // Any failure on either side ends both: a reset travels through the link.
      await Promise.all([
        up.read(client),
        up.deliver(target),
        down.read(target),
        down.deliver(client),
      ]);
    } catch {
      // a side reset or the link was cut: close both below
    } finally {
      this.#stats.open--;
      closeQuietly(client);
      this.#conns.delete(client);
      if (target) {
        closeQuietly(target);
        this.#conns.delete(target);
      }
    }
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // already closed
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
