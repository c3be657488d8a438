// Finding and launching the Chromium the browser tests drive (Debian's package, or CHROMIUM_PATH).
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const candidates = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
export const chromiumPath = candidates.find((path) => existsSync(path));
if (!chromiumPath) {
  process.stdout.write(
    `browser test skipped: no Chromium at ${candidates.join(" or ")} (install Debian's chromium package, or set CHROMIUM_PATH)\n`,
  );
}

// Flags known to work on this project's machines: without the background-networking ones Chromium
// keeps dialling Google's hosts, which a closed network refuses. Playwright gives each launch a
// fresh temporary profile (--user-data-dir) of its own.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error("no Chromium to launch");
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
}
