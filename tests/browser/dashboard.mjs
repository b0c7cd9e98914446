// Drives the admin dashboard in headless Chromium, as an operator would.
//
//   node dashboard.mjs STEP ADMIN_URL TOKEN TENANT [PUBLIC_URL ROUTE]
//
// STEP "create": a wrong token is refused; the right one signs in; the new
//   tenant form creates TENANT (with quotas) and lands on its page.
// STEP "operate": TENANT's app is listed at v2 and rolled back to v1 with the
//   page's button; a key is created and shown once; a secret is set (its
//   value never shown); a request to PUBLIC_URL + ROUTE (sent from here, with
//   a fresh request id, after the page is open) shows up in the live log;
//   the requests/s chart draws the traffic.
//
// Prints what it checked and exits 0, or prints why and exits 1. With SHOTS=dir
// it saves a screenshot of each page there.

import { launch } from "./chromium.mjs";

const [step, admin, token, tenant, publicUrl, route] = process.argv.slice(2);
const shots = process.env.SHOTS;
const shot = async (page, name) => {
  if (shots) await page.screenshot({ path: `${shots}/dashboard-${name}.png`, fullPage: true });
};
const check = (ok, what) => {
  if (!ok) throw new Error(`not so: ${what}`);
  console.log(`ok: ${what}`);
};

const browser = await launch();
let code = 1;
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const signIn = async (t) => {
    await page.goto(`${admin}/`);
    check(page.url() === `${admin}/login`, "a browser without a session is sent to the login page");
    await page.fill("input[name=token]", t);
    await page.click("button[type=submit]");
  };

  if (step === "create") {
    await signIn("not-the-token-at-all");
    check((await page.textContent(".notice.error")).includes("not the admin token"), "a wrong token is refused");
    await shot(page, "login");
    await page.fill("input[name=token]", token);
    await page.click("button[type=submit]");
    await page.waitForSelector("#tenants");
    check(page.url() === `${admin}/`, "the admin token signs in, to the tenants page");
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "gatehouse_admin");
    check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
    check(!(await page.content()).includes(token), "the token is nowhere in the page");
    await page.fill("#new-tenant input[name=name]", tenant);
    await page.fill("#new-tenant input[name=memoryMb]", "64");
    await page.fill("#new-tenant input[name=rateLimit]", "1000/1m");
    await page.click("#new-tenant button[type=submit]");
    await page.waitForSelector("h1");
    check((await page.textContent("h1")) === tenant, `creating ${tenant} leads to its page`);
    await page.goto(`${admin}/`);
    const row = await page.textContent(`tr[data-tenant="${tenant}"]`);
    check(row.includes("memory 64 MB") && row.includes("rate 1000/1m"), `the tenants page lists ${tenant} with its quotas`);
    await shot(page, "tenants");
    code = 0;
  } else if (step === "operate") {
    await signIn(token);
    await page.waitForSelector("#tenants");
    await page.click(`tr[data-tenant="${tenant}"] a`);
    await page.waitForSelector("#apps");
    check((await page.textContent("#apps h3")).includes("live: v2"), "the app is listed, serving v2");
    check((await page.locator("#apps tr[data-version]").count()) === 2, "both versions are listed");
    await page.click('#apps tr[data-version="1"] button');
    await page.waitForSelector("#apps");
    check((await page.textContent("#apps h3")).includes("live: v1"), "the rollback button makes v1 serve");

    await page.fill("#new-key-form input[name=name]", "ci");
    await page.fill("#new-key-form input[name=scopes]", "read");
    await page.click("#new-key-form button[type=submit]");
    const key = (await page.textContent("#new-key")).trim();
    check(key.startsWith("sk_live_"), "a new key is shown once");
    console.log(`KEY=${key}`);
    await page.reload();
    check(!(await page.content()).includes(key), "and never again");

    await page.fill("#new-secret-form input[name=name]", "STRIPE_KEY");
    await page.fill("#new-secret-form input[name=value]", "whsec_dashboard_value");
    await page.click("#new-secret-form button[type=submit]");
    await page.waitForSelector('tr[data-secret="STRIPE_KEY"]');
    check(!(await page.content()).includes("whsec_dashboard_value"), "a secret is listed by name, its value never shown");

    // A request made now shows up in the open page's live log.
    await page.waitForSelector("#log");
    const id = `tail-${Date.now()}`;
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${publicUrl}${route}`, { headers: { "x-request-id": i === 0 ? id : `${id}-${i}` } });
      check(r.status === 200, `request ${i} to ${route} answered 200`);
    }
    await page.waitForFunction((needle) => document.getElementById("log").textContent.includes(needle), id, {
      timeout: 30000,
    });
    check(true, "its log line arrived in the live tail");

    // The charts are drawn from the metrics, sampled every 10 s.
    const deadline = Date.now() + 45000;
    let max = 0;
    while (Date.now() < deadline) {
      max = Number(await page.getAttribute("#chart-rps", "data-max"));
      if (max > 0) break;
      await page.waitForTimeout(2000);
      await page.reload();
      await page.waitForSelector("#chart-rps");
    }
    check(max > 0, `the requests/s chart draws the traffic (max ${max})`);
    await page.waitForFunction((needle) => document.getElementById("log").textContent.includes(needle), id);
    await shot(page, "tenant");
    await page.click("nav a[href='/ui/limits']");
    check((await page.textContent("main table")).includes("cpu_ms"), "the limits page lists the limits");
    await shot(page, "limits");
    code = 0;
  } else {
    throw new Error(`unknown step ${step}`);
  }
} catch (e) {
  console.error(e.message);
} finally {
  await browser.close();
}
process.exit(code);
