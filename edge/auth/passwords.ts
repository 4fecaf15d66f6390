/**
 * Password hashing that never blocks the event loop: argon2id through `@node-rs/argon2`, whose
 * async `hash`/`verify` run on libuv's threadpool (off the main thread since Deno 2.7.5; the project requires 2.9.x).
 *
 * Hashing is deliberately expensive, so a storm of logins could still starve the CPU the event
 * loop needs. The hasher therefore keeps at most `maxConcurrent` jobs in flight (cores − 1 by
 * default: one core stays free for requests), queues up to `maxQueue` more (and no more than
 * `maxWaitMs` of expected waiting) and refuses the rest
 * with `PasswordHasherBusyError`, which routes answer 503 + Retry-After.
 */
import * as argon2 from "@node-rs/argon2";
import { UnavailableError } from "../platform/errors.ts";

// `Algorithm` is declared as an ambient const enum, which isolated modules cannot inline, so
// read the native binding's runtime enum object instead (and fail at start-up if it moved).
const Algorithm = (argon2 as unknown as { Algorithm: Record<"Argon2id", argon2.Algorithm> })
  .Algorithm;
if (Algorithm?.Argon2id === undefined) throw new TypeError("@node-rs/argon2 exports no Algorithm");

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
export const ARGON2ID_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** One way to hash passwords; the hasher may know several to verify (and upgrade) old hashes. */
export interface PasswordAlgorithm {
  name: string;
  /** Whether `encoded` was produced by this algorithm (any parameters). */
  recognizes(encoded: string): boolean;
  hash(password: string): Promise<string>;
  verify(encoded: string, password: string): Promise<boolean>;
  /** Whether `encoded` uses weaker or older parameters than this algorithm would today. */
  needsRehash(encoded: string): boolean;
}

/** Too many hashes are queued; retry after `retryAfterSeconds`. */
export class PasswordHasherBusyError extends UnavailableError {
  override name = "PasswordHasherBusyError";
  constructor(retryAfterSeconds: number) {
    super("We're very busy right now. Please try again in a moment.", retryAfterSeconds);
  }
}

/** argon2id with explicit parameters; hashes and verifies on the libuv threadpool. */
export function argon2idAlgorithm(
  params: { memoryCost: number; timeCost: number; parallelism: number } = ARGON2ID_PARAMS,
): PasswordAlgorithm {
  const options = { algorithm: Algorithm.Argon2id, ...params, outputLen: 32 };
  return {
    name: "argon2id",
    recognizes: (encoded) => encoded.startsWith("$argon2"),
    hash: (password) => argon2.hash(password, options),
    verify: (encoded, password) => argon2.verify(encoded, password),
    needsRehash(encoded) {
      const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(encoded);
      if (!match) return true;
      const [, type, version, m, t, p] = match;
      return type !== "argon2id" || Number(version) < 19 || Number(m) < params.memoryCost ||
        Number(t) < params.timeCost || Number(p) !== params.parallelism;
    },
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
  };
}
