import type { Context } from "hono";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** Renders a page component to a complete HTML response. */
export function renderPage(c: Context, page: VNode, status = 200): Response {
  return c.html("<!doctype html>" + renderToString(page), status as 200);
}
