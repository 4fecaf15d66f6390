/**
 * The module map (README.md, "Layout") as a test: each folder imports only what it may, so the
 * direction of dependencies cannot drift silently.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Which project folders each folder may import at run time (type-only imports are free). */
const ALLOWED: Array<{ from: string; may: string[] }> = [
  { from: "edge/platform/", may: ["edge/platform/"] },
  { from: "db/", may: ["db/", "edge/platform/"] },
  { from: "edge/", may: ["edge/"] },
  { from: "islands/", may: ["islands/"] },
  { from: "routes/", may: ["routes/", "edge/", "db/", "islands/"] },
  { from: "main.ts", may: ["routes/", "edge/", "db/", "islands/"] },
  { from: "serve.ts", may: ["main.ts"] },
];

const IMPORT =
  /^\s*(import|export)\s+(type\s+)?[^"';]*?from\s+["'](\.[^"']+)["']|^\s*import\s+["'](\.[^"']+)["']/gm;

async function sourceFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "build" && entry.name !== "migrations") {
      found.push(...await sourceFiles(path));
    } else if (entry.isFile && /\.tsx?$/.test(entry.name)) found.push(path);
  }
  return found;
}

/** Run-time imports of `file` as repository-relative paths. */
function importsOf(file: string, source: string): string[] {
  const targets: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    if (match[2]) continue; // `import type` / `export type`: erased at run time
    const spec = match[3] ?? match[4];
    if (spec.includes("${")) continue; // a template in generated code, not an import of this file
    targets.push(relative(ROOT, join(ROOT, dirname(file), spec)));
  }
  return targets;
}

function ruleFor(file: string) {
  return ALLOWED.find((rule) => file === rule.from || file.startsWith(rule.from));
}

Deno.test("[architecture] every import follows the module map", async () => {
  const files = [
    "main.ts",
    "serve.ts",
    ...(await Promise.all(
      ["routes", "db", "edge", "islands"].map(sourceFiles),
    )).flat(),
  ];
  const violations: string[] = [];
  for (const file of files) {
    const rule = ruleFor(file)!;
    for (const target of importsOf(file, await Deno.readTextFile(join(ROOT, file)))) {
      if (!rule.may.some((allowed) => target.startsWith(allowed))) {
        violations.push(`${file} imports ${target}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("[architecture] the check catches an import against the direction", () => {
  const source =
    `import { x } from "../../routes/errors.ts";\nimport type { Y } from "../../routes/a.ts";`;
  const targets = importsOf("edge/cache/cache.ts", source);
  assert.deepEqual(targets, ["routes/errors.ts"]);
  assert.ok(!ruleFor("edge/cache/cache.ts")!.may.some((allowed) => targets[0].startsWith(allowed)));
});
