import assert from "node:assert/strict";
import { missingPrerequisites, prerequisites } from "./preflight.ts";

Deno.test("[preflight] names each missing program with the command that installs it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "preflight-test-" });
  try {
    const notExecutable = `${dir}/sqld`;
    await Deno.writeTextFile(notExecutable, "");
    const missing = await missingPrerequisites(prerequisites({
      redisServer: `${dir}/no-redis-server`,
      chromiumPath: `${dir}/no-chromium`,
      sqldPath: notExecutable,
    }));
    assert.deepEqual(missing, [
      "missing prerequisite: redis-server (install: apt-get install -y redis-server)",
      `missing prerequisite: chromium at ${dir}/no-chromium ` +
      "(install: apt-get install -y chromium fonts-dejavu-core, or set CHROMIUM_PATH)",
      "missing prerequisite: sqld (install: deno install)",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[preflight] finds what this machine has installed", async () => {
  // The test task runs the preflight first, so the suite only gets here with everything present.
  assert.deepEqual(await missingPrerequisites(prerequisites()), []);
});
