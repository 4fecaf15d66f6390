/**
 * argon2id without native code: `hash-wasm`'s WebAssembly build, run in a small pool of Web
 * Workers so a hash (tens of milliseconds of CPU) never runs on the event loop. This is the
 * hasher of the edge entry, which has no `--allow-ffi` for `@node-rs/argon2`.
 *
 * Both produce the same PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, 16-byte
 * salt, 32-byte hash, unpadded base64), so either verifies the other's hashes.
 *
 * Where the runtime has no `Worker` (Deno Deploy Classic), hashing falls back to the event loop
 * and `inline` says so; callers log it once at start-up.
 */
import { argon2id, argon2Verify } from "hash-wasm";
import {
  ARGON2ID_PARAMS,
  argon2idNeedsRehash,
  type Argon2idParams,
  type PasswordAlgorithm,
  PasswordHasherBusyError,
} from "./passwords.ts";

/** What the main thread asks a worker to do. */
export type Argon2Request =
  | { id: number; op: "hash"; password: string; params: Argon2idParams }
  | { id: number; op: "verify"; encoded: string; password: string };

/** A worker's answer to one request. */
export type Argon2Reply =
  | { id: number; ok: true; value: string | boolean }
  | { id: number; ok: false; error: string };

/** Hashes `password` with a fresh 16-byte salt into a PHC string (on the calling thread). */
export function hashArgon2idWasm(password: string, params: Argon2idParams): Promise<string> {
  return argon2id({
    password,
    salt: crypto.getRandomValues(new Uint8Array(16)),
    memorySize: params.memoryCost,
    iterations: params.timeCost,
    parallelism: params.parallelism,
    hashLength: 32,
    outputType: "encoded",
  });
}

/** Checks `password` against a PHC string (on the calling thread); false for malformed hashes. */
export async function verifyArgon2idWasm(encoded: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify({ password, hash: encoded });
  } catch {
    return false; // not a hash hash-wasm can parse: treat like a wrong password
  }
}

/** Runs one request on the calling thread: the worker's body, and the no-Worker fallback. */
export async function runArgon2Request(request: Argon2Request): Promise<string | boolean> {
  return request.op === "hash"
    ? await hashArgon2idWasm(request.password, request.params)
    : await verifyArgon2idWasm(request.encoded, request.password);
}

export interface Argon2WasmOptions {
  /** Web Workers in the pool: match the hasher's concurrency (cores − 1). */
  workers: number;
  params?: Argon2idParams;
  /** A job a worker has not answered within this is failed and its worker replaced. */
  jobTimeoutMs?: number;
  /** Jobs allowed to wait for a free worker; the hasher's own queue normally keeps this at 0. */
  maxPending?: number;
}

/** argon2id in WebAssembly: a `PasswordAlgorithm` plus the pool's shape and its shutdown. */
export interface Argon2WasmAlgorithm extends PasswordAlgorithm {
  /** Workers in the pool; 0 when the runtime has no Web Workers. */
  readonly workers: number;
  /** True when hashes run on the event loop because `Worker` is unavailable. */
  readonly inline: boolean;
  close(): Promise<void>;
}

interface Job {
  request: Argon2Request;
  resolve(value: string | boolean): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
  timer?: ReturnType<typeof setTimeout>;
}

const WORKER_URL = new URL("./argon2_worker.ts", import.meta.url);

/**
 * Starts the worker pool (or the inline fallback) and returns argon2id over it.
 *
 * @example
 * ```ts
 * const algorithm = createArgon2idWasmAlgorithm({ workers: 1 });
 * const hasher = await createPasswordHasher({ algorithm, maxConcurrent: 1 });
 * ```
 */
export function createArgon2idWasmAlgorithm(options: Argon2WasmOptions): Argon2WasmAlgorithm {
  const params = options.params ?? ARGON2ID_PARAMS;
  const base = {
    name: "argon2id",
    recognizes: (encoded: string) => encoded.startsWith("$argon2"),
    needsRehash: (encoded: string) => argon2idNeedsRehash(encoded, params),
  };
  if (typeof Worker === "undefined") {
    return {
      ...base,
      workers: 0,
      inline: true,
      hash: (password) => hashArgon2idWasm(password, params),
      verify: (encoded, password) => verifyArgon2idWasm(encoded, password),
      close: () => Promise.resolve(),
    };
  }
  const pool = new Argon2WorkerPool(Math.max(1, options.workers), {
    jobTimeoutMs: options.jobTimeoutMs ?? 30_000,
    maxPending: options.maxPending ?? 1024,
  });
  return {
    ...base,
    workers: pool.size,
    inline: false,
    hash: async (password) => await pool.run({ id: 0, op: "hash", password, params }) as string,
    verify: async (encoded, password) =>
      await pool.run({ id: 0, op: "verify", encoded, password }) as boolean,
    close: () => pool.close(),
  };
}

/** A fixed set of workers, each running one job at a time; jobs wait in FIFO order. */
class Argon2WorkerPool {
  readonly size: number;
  #slots: Slot[] = [];
  #idle: Slot[] = [];
  #pending: Job[] = [];
  #nextId = 1;
  #closed = false;
  #limits: { jobTimeoutMs: number; maxPending: number };

  constructor(size: number, limits: { jobTimeoutMs: number; maxPending: number }) {
    this.size = size;
    this.#limits = limits;
    for (let i = 0; i < size; i++) this.#spawn();
  }

  /** Queues `request` for the next free worker; its id is assigned here. */
  run(request: Argon2Request): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new Error("The argon2 worker pool is closed"));
    if (this.#pending.length >= this.#limits.maxPending) {
      return Promise.reject(new PasswordHasherBusyError(1));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ request: { ...request, id: this.#nextId++ }, resolve, reject });
      this.#dispatch();
    });
  }

  /** Terminates every worker and fails the jobs still running or waiting. */
  close(): Promise<void> {
    this.#closed = true;
    const closed = new Error("The argon2 worker pool is closed");
    for (const slot of this.#slots.splice(0)) {
      clearTimeout(slot.timer);
      slot.worker.terminate();
      slot.job?.reject(closed);
    }
    for (const job of this.#pending.splice(0)) job.reject(closed);
    this.#idle = [];
    return Promise.resolve();
  }

  #spawn(): void {
    const slot: Slot = { worker: new Worker(WORKER_URL, { type: "module" }) };
    slot.worker.onmessage = (event: MessageEvent<Argon2Reply>) => this.#answer(slot, event.data);
    // An uncaught error (the module failed to load, the instance ran out of memory) ends the
    // worker's usefulness: fail its job and put a fresh worker in its place.
    slot.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#replace(slot, new Error(`argon2 worker crashed: ${event.message}`));
    };
    this.#slots.push(slot);
    this.#idle.push(slot);
  }

  #answer(slot: Slot, reply: Argon2Reply): void {
    const job = slot.job;
    if (!job || job.request.id !== reply.id) return; // not the job this worker runs
    clearTimeout(slot.timer);
    slot.job = undefined;
    slot.timer = undefined;
    if (!this.#closed) this.#idle.push(slot);
    this.#dispatch();
    if (reply.ok) job.resolve(reply.value);
    else job.reject(new Error(`argon2 worker failed: ${reply.error}`));
  }

  #replace(slot: Slot, reason: Error): void {
    if (!this.#slots.includes(slot)) return; // already replaced, or the pool closed
    clearTimeout(slot.timer);
    slot.worker.terminate();
    this.#slots = this.#slots.filter((other) => other !== slot);
    this.#idle = this.#idle.filter((other) => other !== slot);
    slot.job?.reject(reason);
    if (!this.#closed) this.#spawn();
    this.#dispatch();
  }

  #dispatch(): void {
    while (!this.#closed && this.#idle.length > 0 && this.#pending.length > 0) {
      const slot = this.#idle.pop()!;
      const job = this.#pending.shift()!;
      slot.job = job;
      slot.timer = setTimeout(
        () =>
          this.#replace(
            slot,
            new Error(`argon2 worker gave no answer in ${this.#limits.jobTimeoutMs} ms`),
          ),
        this.#limits.jobTimeoutMs,
      );
      slot.worker.postMessage(job.request);
    }
  }
}
