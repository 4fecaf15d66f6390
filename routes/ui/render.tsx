import type { Context } from "hono";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** The content type of every rendered page. */
export const HTML_CONTENT_TYPE = "text/html; charset=UTF-8";

/** Renders a page component to a complete HTML document string (what the cache stores). */
export function renderHtml(page: VNode): string {
  return "<!doctype html>" + renderToString(page);
}

/** Renders a page component to a complete HTML response. */
export function renderPage(c: Context, page: VNode, status = 200): Response {
  return c.html(renderHtml(page), status as 200);
}
