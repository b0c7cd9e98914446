// Runs the product docs' EventSource client (NotificationStream.jsx, unchanged)
// in headless Chromium against a real gatehouse, signed in with a session cookie.
//
//   node eventsource.mjs BASE_URL COOKIE_NAME SESSION_TOKEN EXPECTED_TEXT
//
// The page is served at BASE_URL itself (intercepted in the browser, so the
// client's relative "/api/notifications/stream" reaches the platform from the
// same origin, cookie and all). Prints what the page shows and exits 0 once it
// shows EXPECTED_TEXT, 1 if it does not within 30 s.

import { build } from "esbuild";
import { launch } from "./chromium.mjs";
import { fileURLToPath } from "node:url";

const [base, cookieName, token, expected] = process.argv.slice(2);
const here = fileURLToPath(new URL(".", import.meta.url));
const bundle = await build({
  entryPoints: [`${here}main.jsx`],
  bundle: true,
  write: false,
  jsx: "automatic",
  format: "iife",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "error",
});
const html = `<!doctype html><html><head><meta charset="utf-8"><title>notifications</title></head>
<body><div id="root"></div><script src="/docs-client.js"></script></body></html>`;

const browser = await launch();
let code = 1;
try {
  const context = await browser.newContext();
  await context.addCookies([{ name: cookieName, value: token, url: base }]);
  const page = await context.newPage();
  page.on("console", (m) => console.error(`console: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.route(`${base}/`, (r) => r.fulfill({ contentType: "text/html", body: html }));
  await page.route(`${base}/docs-client.js`, (r) =>
    r.fulfill({ contentType: "text/javascript", body: bundle.outputFiles[0].text }),
  );
  await page.goto(`${base}/`);
  const shown = () => page.evaluate(() => document.getElementById("root").textContent);
  console.log(`first: ${await page.waitForFunction(() => document.getElementById("root").textContent).then(shown)}`);
  try {
    await page.waitForFunction((t) => document.getElementById("root").textContent === t, expected, { timeout: 30000 });
    code = 0;
  } finally {
    console.log(`last: ${await shown()}`);
    // SCREENSHOT=path keeps a picture of what the page showed last.
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  }
} catch (e) {
  console.error(e.message);
} finally {
  await browser.close();
}
process.exit(code);
