import assert from "node:assert/strict";
import { parseArgs } from "./dev_regions.ts";

Deno.test("[dev:regions] three regions by default, the first one primary", () => {
  const options = parseArgs([]);
  assert.deepEqual(options.regions.map((r) => [r.name, r.rttMs]), [
    ["us-east", 0],
    ["eu-west", 80],
    ["ap-southeast", 160],
  ]);
  assert.equal(options.replica, "sqld");
  assert.equal(options.port, 8000);
});

Deno.test("[dev:regions] reads regions, jitter, replica kind and port", () => {
  const options = parseArgs([
    "--regions",
    "here:0,there:45",
    "--jitter=2",
    "--replica",
    "embedded",
  ]);
  assert.deepEqual(options.regions, [{ name: "here", rttMs: 0 }, { name: "there", rttMs: 45 }]);
  assert.equal(options.jitterMs, 2);
  assert.equal(options.replica, "embedded");
});

Deno.test("[dev:regions] refuses a bad argument with one line naming it", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--regions", "solo:0"], /at least two regions/],
    [["--regions", "us east:0,b:1"], /name:rtt-ms/],
    [["--jitter", "-1"], /--jitter must be an integer/],
    [["--replica", "postgres"], /--replica must be sqld or embedded/],
    [["--port"], /Missing value for "--port"/],
    [["--colour"], /Unknown argument "--colour"/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(() => parseArgs(args), (error: Error) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});
