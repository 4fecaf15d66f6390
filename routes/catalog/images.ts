import { Hono } from "hono";
import { compress } from "hono/compress";
import { drawArtwork } from "./artwork.ts";

const ARTWORK_FILE = /^([1-9]\d{0,8})-([0-9])\.svg$/;
const KIND = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * `/img/v1/:kind/:id-:view.svg`: generated product artwork. The picture follows from the path
 * alone, so it is cached for a year; a new drawing style gets a new version prefix.
 */
export function productImages(): Hono {
  const app = new Hono();
  app.use(compress());
  app.get("/img/v1/:kind/:file", (c) => {
    const kind = c.req.param("kind");
    const file = ARTWORK_FILE.exec(c.req.param("file"));
    if (!KIND.test(kind) || !file) return c.notFound();
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Content-Type", "image/svg+xml");
    return c.body(drawArtwork(kind, Number(file[1]), Number(file[2])));
  });
  return app;
}
