// Which Chromium the browser tests and benchmarks drive: Debian's package when it is installed,
// else Playwright's own download. `npm run setup` (scripts/setup.mjs) installs one of them and uses
// this same lookup to tell whether it needs to.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright';

/** Debian's `chromium` package (apt) installs it here. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** Where `playwright install chromium` puts the browser of the installed Playwright version. */
export const PLAYWRIGHT_CHROMIUM = chromium.executablePath();

/** The Chromium to launch, or why there is none (a sentence naming what to install). */
export function findChromium(): { path: string } | { reason: string } {
  for (const path of [DEBIAN_CHROMIUM, PLAYWRIGHT_CHROMIUM]) if (existsSync(path)) return { path };
  return {
    reason: `no Chromium at ${DEBIAN_CHROMIUM} or ${PLAYWRIGHT_CHROMIUM}: npm run setup installs it (Debian: apt-get install chromium, as root or with sudo; elsewhere: npx playwright install chromium)`,
  };
}
