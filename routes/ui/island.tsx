import type { VNode } from "preact";

/**
 * Server-renders an island and marks it for hydration: the browser bundle for `name`
 * (built by `deno task build` into static/build/) finds the marker and hydrates it with the
 * same props, read back from the serialized attribute.
 */
export function Island(props: { name: string; children: VNode }): VNode {
  const islandProps = (props.children as VNode<Record<string, unknown>>).props;
  return (
    <>
      <div data-island={props.name} data-props={JSON.stringify(islandProps)}>
        {props.children}
      </div>
      <script type="module" src={`/static/build/${props.name}.js`} />
    </>
  );
}

const ISLANDS_DIR = new URL("../../islands/", import.meta.url);
const BUNDLES_DIR = new URL("../../static/build/", import.meta.url);

/**
 * Islands whose browser bundle (static/build/<Name>.js, made by `deno task build`) is missing.
 * The edge cannot build them (no subprocess, no writes), so they must ship prebuilt.
 */
export async function missingIslandBundles(): Promise<string[]> {
  const missing: string[] = [];
  for await (const entry of Deno.readDir(ISLANDS_DIR)) {
    if (!entry.isFile || !/^[A-Z][A-Za-z0-9]*\.tsx$/.test(entry.name)) continue;
    const bundle = `${entry.name.slice(0, -4)}.js`;
    try {
      await Deno.stat(new URL(bundle, BUNDLES_DIR));
    } catch {
      missing.push(bundle);
    }
  }
  return missing.sort();
}
