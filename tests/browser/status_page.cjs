// Drives the status page in Debian's chromium through playwright-core (make browser installs both).
// In: REVAER_URL, REVAER_API_KEY, MAGNET, INFO_HASH, SCREENSHOT. Out: one JSON line; exit 1 on failure.
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const env = process.env;
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  let page = null;
  try {
    page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
    page.setDefaultTimeout(15000);
    process.on("unhandledRejection", () => {});
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${env.REVAER_URL}/`);
    await page.locator("#key-form").waitFor({ state: "visible", timeout: 10000 });
    await page.fill("#key-form input[name=key]", env.REVAER_API_KEY);
    await page.click("#key-form button[type=submit]");
    await page.locator("#main").waitFor({ state: "visible", timeout: 10000 });

    await page.fill("#add-form input[name=magnet]", env.MAGNET);
    await page.fill("#add-form input[name=category]", "tv");
    await page.click("#add-form button[type=submit]");
    const row = page.locator(`#torrents tr[data-hash="${env.INFO_HASH}"]`);
    await row.waitFor({ timeout: 10000 });
    // Watched live on the page (the event stream): finished, moved into the library, seeding.
    await page.locator('#jobs tr[data-status="moved"]').waitFor({ timeout: 30000 });
    await page.locator(`#torrents tr[data-hash="${env.INFO_HASH}"][data-state="seeding"]`).waitFor({ timeout: 30000 });
    const progress = await row.locator("td.progress").textContent();
    await page.waitForFunction(() => !document.querySelector("#health").textContent.includes("…"));
    await page.screenshot({ path: env.SCREENSHOT, fullPage: true });

    await row.locator('button[data-action="pause"]').click();
    await page.locator(`#torrents tr[data-hash="${env.INFO_HASH}"][data-state="paused"]`).waitFor({ timeout: 10000 });

    // The key is kept for the tab: a reload goes straight to the list.
    await page.reload();
    await page.locator(`#torrents tr[data-hash="${env.INFO_HASH}"]`).waitFor({ timeout: 10000 });
    const keyFormHidden = await page.locator("#key-form").isHidden();
    const health = await page.locator("#health").textContent();
    console.log(JSON.stringify({ progress, keyFormHidden, health, errors }));
  } catch (e) {
    if (page) console.error((await page.locator("body").innerText().catch(() => "")).slice(0, 3000));
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
