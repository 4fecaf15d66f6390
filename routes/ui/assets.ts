/**
 * The browser's static files by logical name ("islands.js", "app.css") → their content-hashed
 * URLs, from the manifest `deno task build` writes. Read once, when the app is loaded.
 */
const MANIFEST = new URL("../../static/build/manifest.json", import.meta.url);

export interface Assets {
  /** The island bundle (every island; hydrates the markers on the page). */
  islands: string;
  stylesheet: string;
}

function readAssets(): Assets {
  let manifest: Record<string, string>;
  try {
    manifest = JSON.parse(Deno.readTextFileSync(MANIFEST));
  } catch (error) {
    throw new Error(
      `static/build/manifest.json is missing or unreadable: run \`deno task build\``,
      { cause: error },
    );
  }
  const islands = manifest["islands.js"];
  const stylesheet = manifest["app.css"];
  if (!islands || !stylesheet) {
    throw new Error(
      "static/build/manifest.json lacks islands.js or app.css: run `deno task build`",
    );
  }
  return { islands, stylesheet };
}

/** The hashed URLs pages link to. */
export const assets: Assets = readAssets();
