/**
 * What this process may do, as Deno reports it. Logged at start-up so a run of the edge entry
 * shows, in its own output, that it had no FFI, subprocess or file-write permission.
 */

/** The permissions that separate the edge (net, env, read) from a local shop (everything). */
export const PERMISSION_NAMES = ["net", "env", "read", "write", "ffi", "run", "sys"] as const;

export type PermissionReport = Record<(typeof PERMISSION_NAMES)[number], string>;

/** The Deno edge rules: what an edge isolate is given. Anything more is a local convenience. */
export const EDGE_PERMISSIONS: readonly string[] = ["net", "env", "read"];

/** The state of each permission in `PERMISSION_NAMES` ("granted", "prompt", "denied"). */
export function describePermissions(): PermissionReport {
  const report = {} as PermissionReport;
  for (const name of PERMISSION_NAMES) {
    try {
      report[name] = Deno.permissions.querySync({ name }).state;
    } catch {
      report[name] = "unknown"; // a runtime without the permissions API (Deploy Classic)
    }
  }
  return report;
}

/** Permissions granted beyond the edge's, e.g. `["write", "ffi"]` under `-A`. */
export function beyondEdge(report: PermissionReport): string[] {
  return PERMISSION_NAMES.filter((name) =>
    !EDGE_PERMISSIONS.includes(name) && report[name] === "granted"
  );
}
