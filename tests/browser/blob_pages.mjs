// Opens signed object URLs in headless Chromium, as a victim following a link
// would, and reports whether any script a tenant stored in them ran.
//
//   node blob_pages.mjs BASE_URL URL...
//
// Each object's script fetches `${BASE_URL}/ran?...`; the browser's own
// requests are watched, so a script that ran is seen whatever it did. For each
// URL prints one line: `URL downloaded|shown "<first 80 chars>"`, then
// `scripts ran: N`. Exits 0 once every URL was opened.

import { launch } from "./chromium.mjs";

const [base, ...urls] = process.argv.slice(2);
const browser = await launch();
let ran = 0;
try {
  const context = await browser.newContext({ acceptDownloads: true });
  context.on("request", (r) => {
    if (r.url().startsWith(`${base}/ran`)) ran += 1;
  });
  for (const url of urls) {
    const page = await context.newPage();
    const download = page.waitForEvent("download", { timeout: 5000 }).then(() => "downloaded", () => null);
    let shown = null;
    try {
      await page.goto(url, { waitUntil: "load", timeout: 10000 });
      // Give a script that does run every chance to: wait for the page to be idle.
      await page.waitForLoadState("networkidle", { timeout: 5000 }).catch(() => {});
      // A sandboxed document may refuse even the driver's scripts: its
      // markup is read through the protocol instead.
      shown = (await page.content()).replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim().slice(0, 80);
    } catch (e) {
      if (!String(e).includes("Download is starting")) throw e;
    }
    const how = shown === null ? await download : "shown";
    console.log(`${url} ${how} ${JSON.stringify(shown ?? "")}`);
    await page.close();
  }
  console.log(`scripts ran: ${ran}`);
} finally {
  await browser.close();
}
