import assert from "node:assert/strict";
import { createArgon2idWasmAlgorithm, hashArgon2idWasm } from "../../../edge/auth/argon2_wasm.ts";
import {
  ARGON2ID_PARAMS,
  argon2idAlgorithm,
  createPasswordHasher,
  type PasswordAlgorithm,
  PasswordHasherBusyError,
} from "../../../edge/auth/passwords.ts";

/** An algorithm that takes `ms` per hash, to exercise the queue without burning CPU. */
function slowAlgorithm(ms: number): PasswordAlgorithm {
  const wait = () => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    name: "slow",
    recognizes: (encoded) => encoded.startsWith("slow:"),
    hash: async (password) => (await wait(), `slow:${password}`),
    verify: async (encoded, password) => (await wait(), encoded === `slow:${password}`),
    needsRehash: () => false,
  };
}

Deno.test("[passwords] the queue refuses work it could not finish within the wait budget", async () => {
  const hasher = await createPasswordHasher({
    algorithm: slowAlgorithm(100),
    legacy: [],
    maxConcurrent: 1,
    maxQueue: 64,
    maxWaitMs: 450,
  });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) => hasher.hash(`password-${i}`)),
  );
  const refused = outcomes.filter((o) => o.status === "rejected");
  const done = outcomes.filter((o) => o.status === "fulfilled");
  // One runs and about four wait (4 × 100 ms ≤ 450 ms); the rest are refused at once. The
  // hasher measures real job time, and on a busy machine timers fire late, so fewer may be let in
  // (seen: 2 while the suite ran beside the fault suite); never more.
  assert.ok(done.length >= 1 && done.length <= 6, `${done.length} hashed`);
  assert.equal(refused.length, 12 - done.length);
  for (const outcome of refused) {
    const error = (outcome as PromiseRejectedResult).reason;
    assert.ok(error instanceof PasswordHasherBusyError);
    assert.ok(error.retryAfterSeconds >= 1);
  }
  assert.deepEqual(hasher.load(), { running: 0, queued: 0 });
});

Deno.test("[passwords] argon2id hashes carry the OWASP parameters and verify", async () => {
  const hasher = await createPasswordHasher({ algorithm: argon2idAlgorithm(), maxConcurrent: 1 });
  const encoded = await hasher.hash("correct horse battery");
  assert.match(encoded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.deepEqual(await hasher.verify(encoded, "correct horse battery"), {
    ok: true,
    needsRehash: false,
  });
  assert.equal((await hasher.verify(encoded, "wrong horse battery")).ok, false);
  assert.equal((await hasher.verify(undefined, "anything at all")).ok, false, "unknown user");
});

Deno.test("[passwords] wasm and native argon2id write the same PHC strings and verify each other", async () => {
  const wasm = createArgon2idWasmAlgorithm({ workers: 1 });
  const native = argon2idAlgorithm();
  try {
    for (const password of ["correct horse battery", "pässwörd-ünïcödé-🔑", " spaces kept "]) {
      const fromWasm = await wasm.hash(password);
      const fromNative = await native.hash(password);
      const phc = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;
      assert.match(fromWasm, phc);
      assert.match(fromNative, phc);
      assert.equal(await native.verify(fromWasm, password), true, "native verifies wasm");
      assert.equal(await wasm.verify(fromNative, password), true, "wasm verifies native");
      assert.equal(await native.verify(fromWasm, `${password}!`), false);
      assert.equal(await wasm.verify(fromNative, `${password}!`), false);
      assert.equal(wasm.needsRehash(fromNative), false);
    }
    assert.equal(await wasm.verify("$argon2id$v=19$m=19456,t=2,p=1$garbage", "x"), false);
  } finally {
    await wasm.close();
  }
});

/** The longest time, in ms, the event loop went without running a 1 ms timer during `work`. */
async function longestLoopGap(work: () => Promise<unknown>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  // A loop blocked until the end never ran the timer again: count that last stretch too.
  return Math.max(longest, performance.now() - last);
}

Deno.test("[passwords] the wasm hasher hashes in a worker, so the event loop keeps turning", async () => {
  // The control: the same WebAssembly hash on this thread stops the loop while it computes.
  const inline = await longestLoopGap(() => hashArgon2idWasm("inline", ARGON2ID_PARAMS));
  const algorithm = createArgon2idWasmAlgorithm({ workers: 1 });
  const hasher = await createPasswordHasher({ algorithm, maxConcurrent: 1, maxWaitMs: 60_000 });
  try {
    let hashes: string[] = [];
    const pooled = await longestLoopGap(async () => {
      hashes = await Promise.all(Array.from({ length: 6 }, (_, i) => hasher.hash(`pw-${i}`)));
    });
    assert.equal(new Set(hashes).size, 6);
    assert.equal((await hasher.verify(hashes[3], "pw-3")).ok, true);
    const summary = `longest event-loop stall: ${pooled.toFixed(0)} ms for six hashes in the ` +
      `worker, ${inline.toFixed(0)} ms for one hash on the loop`;
    console.log(summary);
    // On the loop, even one of the six hashes would stall it for about `inline`; a busy machine
    // adds scheduling stalls of its own (56 ms against 98 ms seen), so the margin is 25 %.
    assert.ok(pooled < inline * 0.75, summary);
  } finally {
    await hasher.close();
  }
});

Deno.test("[passwords] the wasm hasher keeps the native hasher's bounded queue", async () => {
  const algorithm = createArgon2idWasmAlgorithm({ workers: 1 });
  const hasher = await createPasswordHasher({
    algorithm,
    maxConcurrent: 1,
    maxQueue: 2,
    maxWaitMs: 60_000,
  });
  try {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => hasher.hash(`password-${i}`)),
    );
    const done = outcomes.filter((o) => o.status === "fulfilled").length;
    assert.equal(done, 3, "one in flight, two queued");
    for (const outcome of outcomes.filter((o) => o.status === "rejected")) {
      assert.ok((outcome as PromiseRejectedResult).reason instanceof PasswordHasherBusyError);
    }
    assert.deepEqual(hasher.load(), { running: 0, queued: 0 });
  } finally {
    await hasher.close();
  }
});

Deno.test("[passwords] a wasm worker that does not answer in time is replaced", async () => {
  const slow = createArgon2idWasmAlgorithm({ workers: 1, jobTimeoutMs: 1 });
  try {
    await assert.rejects(slow.hash("too slow"), /gave no answer in 1 ms/);
    await assert.rejects(slow.hash("still too slow"), /gave no answer/, "a new worker took over");
  } finally {
    await slow.close();
  }
  await assert.rejects(slow.hash("after close"), /closed/);
});
