/**
 * Password hashing that never blocks the event loop: argon2id through `@node-rs/argon2`, whose
 * async `hash`/`verify` run on libuv's threadpool (off the main thread since Deno 2.7.5; the project requires 2.9.x), or,
 * where native code is not allowed (the edge), through WebAssembly in Web Workers
 * (edge/auth/argon2_wasm.ts). Both write the same PHC strings.
 *
 * Hashing is deliberately expensive, so a storm of logins could still starve the CPU the event
 * loop needs. The hasher therefore keeps at most `maxConcurrent` jobs in flight (cores − 1 by
 * default: one core stays free for requests), queues up to `maxQueue` more (and no more than
 * `maxWaitMs` of expected waiting) and refuses the rest
 * with `PasswordHasherBusyError`, which routes answer 503 + Retry-After.
 */
import type * as NativeArgon2 from "@node-rs/argon2";
import { UnavailableError } from "../platform/errors.ts";

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
export const ARGON2ID_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** argon2id cost parameters, in @node-rs/argon2's names (memory in KiB). */
export interface Argon2idParams {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** One way to hash passwords; the hasher may know several to verify (and upgrade) old hashes. */
export interface PasswordAlgorithm {
  name: string;
  /** Whether `encoded` was produced by this algorithm (any parameters). */
  recognizes(encoded: string): boolean;
  hash(password: string): Promise<string>;
  verify(encoded: string, password: string): Promise<boolean>;
  /** Whether `encoded` uses weaker or older parameters than this algorithm would today. */
  needsRehash(encoded: string): boolean;
  /** Releases what the algorithm holds (worker threads); absent when it holds nothing. */
  close?(): Promise<void>;
}

/** Too many hashes are queued; retry after `retryAfterSeconds`. */
export class PasswordHasherBusyError extends UnavailableError {
  override name = "PasswordHasherBusyError";
  constructor(retryAfterSeconds: number) {
    super("We're very busy right now. Please try again in a moment.", retryAfterSeconds);
  }
}

/**
 * The native addon, imported on first use rather than with this module: loading it needs
 * --allow-ffi, which the edge entry does not have (it hashes in WebAssembly instead).
 */
function loadNativeArgon2(): Promise<NativeArgon2Module> {
  nativeArgon2 ??= importNativeArgon2();
  return nativeArgon2;
}

type NativeArgon2Module = typeof NativeArgon2 & { Argon2id: NativeArgon2.Algorithm };
let nativeArgon2: Promise<NativeArgon2Module> | undefined;

async function importNativeArgon2(): Promise<NativeArgon2Module> {
  const argon2 = await import("@node-rs/argon2");
  // `Algorithm` is declared as an ambient const enum, which isolated modules cannot inline, so
  // read the native binding's runtime enum object instead (and fail loudly if it moved).
  const Algorithm = (argon2 as unknown as { Algorithm: Record<"Argon2id", NativeArgon2.Algorithm> })
    .Algorithm;
  if (Algorithm?.Argon2id === undefined) {
    throw new TypeError("@node-rs/argon2 exports no Algorithm");
  }
  return { ...argon2, Argon2id: Algorithm.Argon2id };
}

/** Whether an argon2 PHC string uses weaker or older parameters than `params`. */
export function argon2idNeedsRehash(encoded: string, params: Argon2idParams): boolean {
  const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(encoded);
  if (!match) return true;
  const [, type, version, m, t, p] = match;
  return type !== "argon2id" || Number(version) < 19 || Number(m) < params.memoryCost ||
    Number(t) < params.timeCost || Number(p) !== params.parallelism;
}

/** argon2id with explicit parameters through the native addon, on the libuv threadpool. */
export function argon2idAlgorithm(params: Argon2idParams = ARGON2ID_PARAMS): PasswordAlgorithm {
  return {
    name: "argon2id",
    recognizes: (encoded) => encoded.startsWith("$argon2"),
    async hash(password) {
      const argon2 = await loadNativeArgon2();
      return argon2.hash(password, { algorithm: argon2.Argon2id, ...params, outputLen: 32 });
    },
    verify: async (encoded, password) => (await loadNativeArgon2()).verify(encoded, password),
    needsRehash: (encoded) => argon2idNeedsRehash(encoded, params),
  };
}

export interface PasswordHasherOptions {
  /** New hashes use this; defaults to argon2id with `ARGON2ID_PARAMS`. */
  algorithm?: PasswordAlgorithm;
  /** Other algorithms whose hashes still verify (and get rehashed); none by default. */
  legacy?: PasswordAlgorithm[];
  /** Hashes in flight at once; defaults to cores − 1, at least 1. */
  maxConcurrent?: number;
  /** Hashes waiting beyond those in flight before new ones are refused; defaults to 64. */
  maxQueue?: number;
  /**
   * Longest expected wait in the queue before new hashes are refused; defaults to 5000 ms.
   * Hashes slow down when the machine is saturated, so a queue bounded by length alone can
   * grow a wait longer than the request deadline: refusing early turns those into fast 503s.
   */
  maxWaitMs?: number;
}

export interface PasswordVerification {
  ok: boolean;
  /** True when the password was right but the stored hash should be replaced. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  readonly algorithm: string;
  hash(password: string): Promise<string>;
  /** Checks `password` against `encoded`, or against a dummy hash when `encoded` is undefined. */
  verify(encoded: string | undefined, password: string): Promise<PasswordVerification>;
  /** Jobs in flight and waiting, for metrics and tests. */
  load(): { running: number; queued: number };
  /** Releases the algorithms' resources (the wasm worker pool). */
  close(): Promise<void>;
}

/** The default concurrency: every core but one, at least one. */
export function defaultHashConcurrency(): number {
  return Math.max(1, (navigator.hardwareConcurrency ?? 1) - 1);
}

/**
 * Creates the hasher, computing once the dummy hash that unknown emails are verified against,
 * so "no such user" costs the same as "wrong password".
 */
export async function createPasswordHasher(
  options: PasswordHasherOptions = {},
): Promise<PasswordHasher> {
  const current = options.algorithm ?? argon2idAlgorithm();
  const known = [current, ...(options.legacy ?? [])];
  const maxConcurrent = Math.max(1, options.maxConcurrent ?? defaultHashConcurrency());
  const maxQueue = Math.max(0, options.maxQueue ?? 64);
  const maxWaitMs = Math.max(0, options.maxWaitMs ?? 5000);
  const waiting: Array<() => void> = [];
  let running = 0;
  // A moving average of job time: bounds the expected wait and gives a meaningful Retry-After.
  let averageMs: number;

  async function run<T>(job: () => Promise<T>): Promise<T> {
    if (running >= maxConcurrent) {
      const expectedWaitMs = ((waiting.length + 1) * averageMs) / maxConcurrent;
      if (waiting.length >= maxQueue || expectedWaitMs > maxWaitMs) {
        const drainMs = ((waiting.length + running) * averageMs) / maxConcurrent;
        throw new PasswordHasherBusyError(Math.max(1, Math.ceil(drainMs / 1000)));
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    const started = performance.now();
    try {
      return await job();
    } finally {
      averageMs = averageMs * 0.8 + (performance.now() - started) * 0.2;
      const next = waiting.shift();
      // Hand the slot straight to the next waiter; `running` only drops when nobody waits.
      if (next) next();
      else running--;
    }
  }

  // The dummy hash doubles as the first measurement of how long a hash takes here.
  const measuring = performance.now();
  const dummy = await current.hash(crypto.randomUUID());
  averageMs = performance.now() - measuring;

  return {
    algorithm: current.name,
    hash: (password) => run(() => current.hash(password)),
    async verify(encoded, password) {
      const algorithm = encoded === undefined
        ? current
        : known.find((candidate) => candidate.recognizes(encoded));
      if (!algorithm) return { ok: false, needsRehash: false };
      const ok = await run(() => algorithm.verify(encoded ?? dummy, password));
      const needsRehash = ok && (algorithm !== current || current.needsRehash(encoded!));
      return { ok: ok && encoded !== undefined, needsRehash };
    },
    load: () => ({ running, queued: waiting.length }),
    async close() {
      for (const algorithm of known) await algorithm.close?.();
    },
  };
}
