import assert from "node:assert/strict";
import { openTestServices } from "../../fixtures.ts";

/** Permission bits of every file and directory under `dir`, by relative path. */
async function modes(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = { ".": ((await Deno.stat(dir)).mode! & 0o777).toString(8) };
  for await (const entry of Deno.readDir(dir)) {
    found[entry.name] = ((await Deno.stat(`${dir}/${entry.name}`)).mode! & 0o777).toString(8);
  }
  return found;
}

Deno.test("[files] the database, KV and signing key are 0600 in a 0700 data dir", async () => {
  const parent = await Deno.makeTempDir({ prefix: "shop-modes-" });
  const dir = `${parent}/data`; // not there yet: the shop creates it
  const shop = await openTestServices({ productCount: 5, env: { DATA_DIR: dir } });
  try {
    const found = await modes(dir);
    assert.ok(Object.keys(found).some((name) => name.endsWith("-wal")), "side files are covered");
    assert.equal(found["."], "700", "data dir");
    for (const name of ["shop.db", "kv.sqlite", "auth-keys.json"]) {
      assert.equal(found[name], "600", name);
    }
    for (const [name, mode] of Object.entries(found)) {
      if (name !== ".") assert.equal(mode, "600", `${name} (every file, -wal and -shm too)`);
    }
  } finally {
    await shop.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("[files] an existing world-readable data dir and database are tightened at start", async () => {
  const parent = await Deno.makeTempDir({ prefix: "shop-modes-" });
  const dir = `${parent}/data`;
  try {
    const first = await openTestServices({ productCount: 5, env: { DATA_DIR: dir } });
    await first.close();
    await Deno.chmod(dir, 0o755);
    for await (const entry of Deno.readDir(dir)) await Deno.chmod(`${dir}/${entry.name}`, 0o644);
    const again = await openTestServices({ productCount: 0, env: { DATA_DIR: dir } });
    try {
      const found = await modes(dir);
      assert.equal(found["."], "700");
      assert.equal(found["shop.db"], "600");
      assert.equal(found["kv.sqlite"], "600");
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
