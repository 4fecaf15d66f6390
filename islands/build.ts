// `deno task build`: bundles each island in islands/ into static/build/<Name>.js for the browser.
// Each bundle hydrates the server-rendered markers that routes/island.tsx writes.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const islandsDir = `${root}islands`;
const outDir = `${root}static/build`;
const entryDir = `${root}.tmp/island-entries`;

await Deno.mkdir(outDir, { recursive: true });
await Deno.mkdir(entryDir, { recursive: true });

const islands: string[] = [];
for await (const entry of Deno.readDir(islandsDir)) {
  if (entry.isFile && /^[A-Z][A-Za-z0-9]*\.tsx$/.test(entry.name)) {
    islands.push(entry.name.slice(0, -4));
  }
}
islands.sort();

for (const name of islands) {
  const entry = `${entryDir}/${name}.tsx`;
  await Deno.writeTextFile(
    entry,
    `import { h, hydrate } from "preact";
import Island from "../../islands/${name}.tsx";
for (const node of document.querySelectorAll<HTMLElement>('[data-island="${name}"]')) {
  hydrate(h(Island, JSON.parse(node.dataset.props ?? "{}")), node);
}
`,
  );
  const started = performance.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "-o",
      `${outDir}/${name}.js`,
      entry,
    ],
    cwd: root,
  }).output();
  if (!result.success) {
    console.error(new TextDecoder().decode(result.stderr));
    Deno.exit(1);
  }
  const size = (await Deno.stat(`${outDir}/${name}.js`)).size;
  console.log(
    `built ${name}.js (${(size / 1024).toFixed(1)} KiB) in ${
      Math.round(performance.now() - started)
    } ms`,
  );
}
if (islands.length === 0) console.log("no islands to build");
