// `deno task build`: the browser's static files, content-hashed and precompressed, into
// static/build/:
// - islands.<hash>.js: one bundle with every island (PascalCase files in islands/) that hydrates
//   the markers routes/ui/island.tsx writes;
// - app.<hash>.css: static/app.css;
// - a .gz and a .br beside each, served by Accept-Encoding;
// - manifest.json: logical name → hashed URL, read once by the server at start-up.
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const islandsDir = `${root}islands`;
const outDir = `${root}static/build`;
const entryDir = `${root}.tmp/island-entries`;
const URL_PREFIX = "/static/build/";

await Deno.remove(outDir, { recursive: true }).catch(() => {});
await Deno.mkdir(outDir, { recursive: true });
await Deno.mkdir(entryDir, { recursive: true });

const islands: string[] = [];
for await (const entry of Deno.readDir(islandsDir)) {
  if (entry.isFile && /^[A-Z][A-Za-z0-9]*\.tsx$/.test(entry.name)) {
    islands.push(entry.name.slice(0, -4));
  }
}
islands.sort();

async function contentHash(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.slice(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Writes `bytes` as `<name>.<hash>.<ext>` with its .gz and .br; returns the URL. */
async function emit(name: string, ext: string, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const file = `${name}.${await contentHash(bytes)}.${ext}`;
  const gzip = gzipSync(bytes, { level: 9 });
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  await Deno.writeFile(`${outDir}/${file}`, bytes);
  await Deno.writeFile(`${outDir}/${file}.gz`, gzip);
  await Deno.writeFile(`${outDir}/${file}.br`, brotli);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `built ${file} (${kib(bytes.length)}, gzip ${kib(gzip.length)}, brotli ${kib(brotli.length)})`,
  );
  return URL_PREFIX + file;
}

async function bundleIslands(): Promise<Uint8Array<ArrayBuffer>> {
  const entry = `${entryDir}/islands.tsx`;
  const imports = islands.map((name) => `import ${name} from "../../islands/${name}.tsx";`);
  await Deno.writeTextFile(
    entry,
    `import { h, hydrate } from "preact";
${imports.join("\n")}
const islands = { ${islands.join(", ")} } as Record<string, (props: never) => unknown>;
for (const node of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const island = islands[node.dataset.island ?? ""];
  if (island) hydrate(h(island as never, JSON.parse(node.dataset.props ?? "{}")), node);
}
`,
  );
  const bundled = `${entryDir}/islands.js`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", bundled, entry],
    cwd: root,
  }).output();
  if (!result.success) {
    console.error(new TextDecoder().decode(result.stderr));
    Deno.exit(1);
  }
  return await Deno.readFile(bundled);
}

const started = performance.now();
const manifest: Record<string, string> = {
  "islands.js": await emit("islands", "js", await bundleIslands()),
  "app.css": await emit("app", "css", await Deno.readFile(`${root}static/app.css`)),
};
await Deno.writeTextFile(`${outDir}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
console.log(
  `${islands.length} islands (${islands.join(", ")}) in ${
    Math.round(performance.now() - started)
  } ms`,
);
