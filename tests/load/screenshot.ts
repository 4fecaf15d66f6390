/**
 * Screenshots an HTML report with headless Chromium, to check it renders:
 * `deno run -A tests/load/screenshot.ts .tmp/load/report.html tests/load/report-screenshot.png`
 */

import { chromium } from "playwright-core";

const [input, output = "tests/load/report-screenshot.png"] = Deno.args;
if (!input) {
  console.error("usage: screenshot.ts <report.html> [out.png]");
  Deno.exit(1);
}
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  await page.goto(new URL(input, `file://${Deno.cwd()}/`).href);
  await page.screenshot({ path: output, fullPage: true, type: "png" });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
}
