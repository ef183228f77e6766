/** Where the headless browser is: CHROMIUM_PATH, else Debian's and other usual install paths. */
import { existsSync } from "node:fs";

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

export function chromiumPath(): string {
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM_PATH=${env}: no such file`);
    return env;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `no Chromium found (looked in ${CANDIDATES.join(", ")}): install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  return found;
}
