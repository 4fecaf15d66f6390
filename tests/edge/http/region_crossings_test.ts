import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  createRegionCrossings,
  reportRegionCrossings,
  serverTiming,
} from "../../../edge/http/region_crossings.ts";

Deno.test("[region crossings] each request reports only its own calls out of the region", async () => {
  const crossings = createRegionCrossings();
  const app = new Hono();
  app.use(reportRegionCrossings(crossings, "ap-southeast"));
  app.get("/cached", (c) => c.text("from this region's cache"));
  app.get("/write", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    crossings.record("redis");
    await new Promise((resolve) => setTimeout(resolve, 5));
    crossings.record("primary", 161.26);
    return c.text("written");
  });
  const [write, cached] = await Promise.all([app.request("/write"), app.request("/cached")]);
  assert.equal(
    write.headers.get("server-timing"),
    'edge;desc="ap-southeast", primary;dur=161.3;desc="1 call", redis;desc="1 call"',
  );
  assert.equal(cached.headers.get("server-timing"), 'edge;desc="ap-southeast"');
  crossings.record("primary", 1); // outside any request (a background poll): counted nowhere
});

Deno.test("[region crossings] Server-Timing sums repeated calls", () => {
  const crossings = { primary: { calls: 2, ms: 20.04 } };
  assert.equal(serverTiming("eu", crossings), 'edge;desc="eu", primary;dur=20.0;desc="2 calls"');
});
