/**
 * Run with the edge's flags (`deno run --allow-net --allow-env --allow-read --unstable-kv`), it
 * attempts what the edge must never need and prints, as JSON, how each attempt ended:
 * `"refused: <error>"` or `"allowed"`. tests/edge_entry_test.ts asserts every one is refused.
 */

const ROOT = new URL("../../", import.meta.url);

/** Any native library in the install: the argon2 addon is a shared object like any other. */
async function nativeLibraryPath(): Promise<string> {
  const dir = new URL("node_modules/.deno/", ROOT);
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("@node-rs+argon2-linux-x64-gnu")) continue;
    const pkg = new URL(`${entry.name}/node_modules/@node-rs/argon2-linux-x64-gnu/`, dir);
    for await (const file of Deno.readDir(pkg)) {
      if (file.name.endsWith(".node")) return decodeURIComponent(new URL(file.name, pkg).pathname);
    }
  }
  throw new Deno.errors.NotFound("No native library to try in node_modules");
}

const attempts: Record<string, () => Promise<unknown>> = {
  "write a file": () => Deno.writeTextFile(`${Deno.cwd()}/.edge-probe-${Deno.pid}`, "x"),
  "open a KV file by path": () => Deno.openKv(`${Deno.cwd()}/.edge-probe-${Deno.pid}.kv`),
  "dlopen a native library": async () => Deno.dlopen(await nativeLibraryPath(), {}),
  "spawn a subprocess": () => new Deno.Command("true").output(),
  "import @node-rs/argon2 (native addon)": async () => {
    const argon2 = await import("@node-rs/argon2");
    return await argon2.hash("probe");
  },
  "import @libsql/client (native driver)": async () => {
    const libsql = await import("@libsql/client");
    return libsql.createClient({ url: "file::memory:" }).execute("SELECT 1");
  },
};

const outcomes: Record<string, string> = {};
for (const [name, attempt] of Object.entries(attempts)) {
  try {
    const result = await attempt();
    (result as { close?: () => void })?.close?.();
    outcomes[name] = "allowed";
  } catch (error) {
    const message = (error as Error).message?.split("\n")[0] ?? String(error);
    outcomes[name] = `refused: ${(error as Error).name}: ${message}`;
  }
}
console.log(JSON.stringify(outcomes, null, 2));
