import assert from "node:assert/strict";
import { BackgroundWork } from "../../../edge/cache/background.ts";
import {
  type InvalidationEvent,
  type InvalidationLog,
  InvalidationTracker,
  type LocalTiers,
} from "../../../edge/cache/invalidation.ts";
import { CacheMetrics } from "../../../edge/cache/metrics.ts";
import { createLogger } from "../../../edge/platform/log.ts";

/** A tracker over an in-memory log and recording tiers, on a hand-driven clock. */
function tracked(
  options: { seenSeq?: number; log?: boolean; maxTrackedTags?: number; publishes?: boolean } = {},
) {
  let now = 1_000_000;
  let events: InvalidationEvent[] | undefined = [];
  let publishes = options.publishes ?? true;
  const actions: string[] = [];
  const reads: (number | undefined)[] = [];
  const lines: string[] = [];
  const logger = createLogger("debug", { write: (line) => lines.push(line) });
  const background = new BackgroundWork(logger);
  const tiers: LocalTiers = {
    dropTags: (tags) => Promise.resolve(actions.push(`drop ${tags.join(",")}`)),
    flush: () => Promise.resolve(void actions.push("flush")),
    saveInvalidationSeq: (seq) => Promise.resolve(void actions.push(`save ${seq}`)),
  };
  const log: InvalidationLog = {
    recent: (count) => {
      reads.push(count);
      return Promise.resolve(events && events.slice(0, count));
    },
    publish: (tags) => {
      if (!events || !publishes) return Promise.resolve(false);
      events.unshift({ seq: (events[0]?.seq ?? 0) + 1, tags });
      return Promise.resolve(true);
    },
  };
  const metrics = new CacheMetrics();
  const tracker = new InvalidationTracker({
    tiers,
    log: options.log === false ? undefined : log,
    seenSeq: options.seenSeq,
    now: () => now,
    primaryReadsAfterWriteMs: 10_000,
    metrics,
    logger,
    background,
    maxTrackedTags: options.maxTrackedTags,
    retryDelaysMs: [5, 5, 5],
  });
  return {
    tracker,
    actions,
    metrics,
    reads,
    lines,
    background,
    /** Makes publishing fail (false) or work again (true). */
    setPublishing(works: boolean) {
      publishes = works;
    },
    /** The log's content, newest first. */
    get events() {
      return events;
    },
    advance(ms: number) {
      now += ms;
    },
    /** Replaces the log's content (newest first); `undefined` makes it unreachable. */
    setLog(next: InvalidationEvent[] | undefined) {
      events = next;
    },
  };
}

const event = (seq: number, ...tags: string[]): InvalidationEvent => ({ seq, tags });

Deno.test("[invalidation] a load overtaken by an invalidation of one of its tags is refused", async () => {
  const { tracker } = tracked({ log: false });
  const before = tracker.startLoad();
  await tracker.invalidate(["product:1"]);
  const after = tracker.startLoad();
  assert.equal(tracker.overtook(before, ["product:1", "category:2"]), true);
  assert.equal(tracker.overtook(before, ["product:2"]), false, "other tags are unaffected");
  assert.equal(tracker.overtook(after, ["product:1"]), false, "a load started later is kept");
});

Deno.test("[invalidation] what an invalidation touched reads the primary for the window after it", async () => {
  const { tracker, advance } = tracked({ log: false });
  assert.equal(tracker.recentlyChanged(["product:1"]), false);
  await tracker.invalidate(["product:1"]);
  assert.equal(tracker.recentlyChanged(["product:1", "category:3"]), true);
  assert.equal(tracker.recentlyChanged(["product:2"]), false, "the rest reads the replica");
  assert.equal(tracker.readsPrimaryForAll(), false);
  advance(9_999);
  assert.equal(tracker.recentlyChanged(["product:1"]), true);
  advance(2);
  assert.equal(tracker.recentlyChanged(["product:1"]), false);
});

Deno.test("[invalidation] past the tag bound, epochs are forgotten and older loads refused", async () => {
  const { tracker } = tracked({ log: false, maxTrackedTags: 3 });
  const before = tracker.startLoad();
  await tracker.invalidate(["a", "b"]);
  assert.equal(tracker.overtook(before, ["z"]), false);
  await tracker.invalidate(["c", "d"]);
  assert.equal(tracker.overtook(before, ["z"]), true, "cannot tell any more: refuse");
  assert.equal(tracker.overtook(tracker.startLoad(), ["a"]), false);
  assert.equal(tracker.readsPrimaryForAll(), true, "and every load reads the primary a while");
});

Deno.test("[invalidation] invalidate drops locally, publishes, and counts tags once", async () => {
  const t = tracked();
  assert.equal(await t.tracker.invalidate(["a", "b", "a"]), true);
  assert.deepEqual(t.actions, ["drop a,b"]);
  assert.deepEqual(t.events, [{ seq: 1, tags: ["a", "b"] }]);
  assert.equal(t.metrics.value("invalidations"), 2);
});

Deno.test("[invalidation] an event that did not reach the log is retried until it lands", async (t) => {
  await t.step("it lands on a retry", async () => {
    const c = tracked();
    c.setPublishing(false);
    assert.equal(await c.tracker.invalidate(["c"]), false, "not published at once");
    assert.deepEqual(c.actions, ["drop c"], "but dropped here at once");
    c.setPublishing(true);
    await c.background.settled();
    assert.deepEqual(c.events, [{ seq: 1, tags: ["c"] }]);
    assert.ok(c.lines.some((line) => line.includes("reached the other nodes after a retry")));
  });
  await t.step("it never lands: one error line", async () => {
    const c = tracked();
    c.setPublishing(false);
    await c.tracker.invalidate(["d"]);
    await c.background.settled();
    assert.deepEqual(c.events, []);
    const errors = c.lines.filter((line) => line.includes('"level":"error"'));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /cache invalidation reached this node only/);
  });
});

Deno.test("[invalidation] poll applies what this node has not seen", async (t) => {
  await t.step("a new node starts at the newest event without applying old ones", async () => {
    const { tracker, actions, setLog } = tracked();
    setLog([event(7, "x"), event(6, "y")]);
    await tracker.poll();
    assert.equal(tracker.seenSeq, 7);
    assert.deepEqual(actions, ["save 7"]);
  });

  await t.step("newer events are applied once, oldest first, and the position saved", async () => {
    const { tracker, actions, metrics, setLog } = tracked({ seenSeq: 5 });
    setLog([event(8, "c"), event(7, "b", "a"), event(6, "a"), event(5, "old")]);
    const before = tracker.startLoad();
    await tracker.poll();
    assert.deepEqual(actions, ["drop a,b,c", "save 8"]);
    assert.equal(metrics.value("invalidation_events"), 3);
    assert.equal(tracker.overtook(before, ["b"]), true);
    await tracker.poll();
    assert.deepEqual(actions, ["drop a,b,c", "save 8"], "nothing new: nothing done");
  });

  await t.step("a node behind the trimmed log flushes its tiers", async () => {
    const { tracker, actions, setLog } = tracked({ seenSeq: 2 });
    setLog([event(9, "c"), event(8, "b")]);
    const before = tracker.startLoad();
    await tracker.poll();
    assert.deepEqual(actions, ["flush", "save 9"]);
    assert.equal(tracker.overtook(before, ["anything"]), true);
  });

  await t.step("a log that went back (Redis lost its data) flushes too", async () => {
    const { tracker, actions, setLog } = tracked({ seenSeq: 40 });
    setLog([event(3, "a")]);
    await tracker.poll();
    assert.deepEqual(actions, ["flush", "save 3"]);
  });

  await t.step(
    "a short read covers a node close behind; a longer gap reads the whole log",
    async () => {
      const near = tracked({ seenSeq: 3 });
      near.setLog([event(5, "e"), event(4, "d"), event(3, "c")]);
      await near.tracker.poll();
      assert.deepEqual(near.reads, [16]);
      const far = tracked({ seenSeq: 1 });
      far.setLog(Array.from({ length: 30 }, (_, i) => event(30 - i, `t${30 - i}`)));
      await far.tracker.poll();
      assert.deepEqual(far.reads, [16, undefined]);
      assert.equal(far.actions[0].split(",").length, 29, "all 29 unseen events applied");
    },
  );

  await t.step("an unreachable log changes nothing", async () => {
    const { tracker, actions, setLog } = tracked({ seenSeq: 4 });
    setLog(undefined);
    await tracker.poll();
    assert.deepEqual(actions, []);
    assert.equal(tracker.seenSeq, 4);
  });
});

Deno.test("[invalidation] the poll loop applies events on its own and stops cleanly", async () => {
  const { tracker, actions, setLog } = tracked({ seenSeq: 1 });
  tracker.startPolling(5);
  setLog([event(2, "p")]);
  const deadline = performance.now() + 10_000;
  while (!actions.includes("drop p") && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await tracker.close();
  assert.deepEqual(actions, ["drop p", "save 2"]);
  setLog([event(3, "q"), event(2, "p")]);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(actions, ["drop p", "save 2"], "no poll after close");
});
