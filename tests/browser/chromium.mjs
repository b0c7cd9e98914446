// The browser every script drives: Debian's Chromium (or $CHROMIUM), headless,
// without its own sandbox (the test machine's containers have none to give it).
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
}
