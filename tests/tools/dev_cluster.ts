/**
 * Runs the storefront against a real libSQL topology: one sqld primary, two replicas, each on a
 * free loopback port with a throwaway data dir. The app migrates against the primary on start.
 *
 *   deno run --allow-all tests/tools/dev_cluster.ts            # cluster + app
 *   deno run --allow-all tests/tools/dev_cluster.ts --no-app   # cluster only, prints env lines
 *
 * Ctrl-C stops everything: tests/services/sqld.ts stops the sqld processes and removes their data
 * dirs on SIGINT/SIGTERM, and the `unload` listener below takes the app down with them.
 */
import { startSqldCluster } from "../services/sqld.ts";

const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== "--no-app");
  if (unknown.length > 0) {
    console.error(`Unknown argument "${unknown[0]}"; usage: dev_cluster.ts [--no-app]`);
    return 2;
  }

  const startedAt = performance.now();
  const cluster = await startSqldCluster({ replicas: 2 });
  const env = {
    DATABASE_URL: cluster.primary.httpUrl,
    DATABASE_READ_URL: cluster.replicas[0].httpUrl,
  };
  console.log(
    [
      `sqld cluster ready in ${Math.round(performance.now() - startedAt)} ms`,
      `  primary    ${cluster.primary.httpUrl}  grpc ${cluster.primary.grpcUrl}  pid ${cluster.primary.pid}`,
      ...cluster.replicas.map((r, i) => `  replica ${i + 1}  ${r.httpUrl}  pid ${r.pid}`),
      "",
      ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
      "",
    ].join("\n"),
  );

  if (args.includes("--no-app")) {
    console.log("Cluster only; Ctrl-C to stop");
    // The sqld module exits the process on SIGINT/SIGTERM after stopping the cluster.
    return await new Promise<number>(() => setInterval(() => {}, 1 << 30));
  }

  const app = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "-A", "main.ts"],
    cwd: REPO_ROOT,
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // On Ctrl-C the app gets SIGINT from the terminal too; this covers `kill <pid>` of this tool.
  globalThis.addEventListener("unload", () => {
    try {
      app.kill("SIGTERM");
    } catch {
      // already exited
    }
  });

  const status = await app.status;
  console.error(`Storefront exited with code ${status.code}; stopping the sqld cluster`);
  await cluster.stop();
  return status.code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
