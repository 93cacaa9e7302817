// Drives Flood (a web UI speaking qBittorrent's /api/v2) in Debian's chromium through playwright-core.
// In: FLOOD_URL, FLOOD_USER, FLOOD_PASSWORD, QB_URL, QB_USER, QB_PASSWORD, TORRENT_FILE, TORRENT_NAME, COMMENT, OUTSIDE_PATH, OUTSIDE_MAGNET, SCREENSHOT.
// Out: one JSON line; exit 1 on failure (the page's text on stderr).
"use strict";
const { chromium } = require("playwright-core");

async function addByFile(page, file, destination) {
  await page.locator(".action--add-torrent").click();
  const modal = page.locator(".modal");
  await modal.locator(".modal__tab button", { hasText: "By File" }).click();
  await modal.locator("input[type=file]").setInputFiles(file);
  if (destination) await modal.locator("input[name=destination]").fill(destination);
  await modal.locator("button[type=submit]", { hasText: "Add Torrent" }).click();
}

async function addByUrl(page, url, destination) {
  await page.locator(".action--add-torrent").click();
  const modal = page.locator(".modal");
  await modal.locator(".modal__tab button", { hasText: "By URL" }).click();
  await modal.locator("input[name=urls-0]").fill(url);
  await modal.locator("input[name=destination]").fill(destination);
  await modal.locator("button[type=submit]", { hasText: "Add Torrent" }).click();
}

// The first visit creates Flood's user with qBittorrent (Revaer's façade) as its client; a fresh
// browser context then logs in as that user.
async function register(browser, env) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.FLOOD_URL}/`);
  await page.waitForURL(/\/register$/);
  await page.fill("input[name=username]", env.FLOOD_USER);
  await page.fill("input[name=password]", env.FLOOD_PASSWORD);
  await page.locator("button", { hasText: "rTorrent" }).click();
  await page.getByText("qBittorrent", { exact: true }).click();
  await page.fill("input[name=url]", env.QB_URL);
  await page.fill("input[name=qbt-username]", env.QB_USER);
  await page.fill("input[name=qbt-password]", env.QB_PASSWORD);
  await page.locator("button[type=submit]", { hasText: "Create Account" }).click();
  await page.waitForURL(/\/overview$/);
  await context.close();
}

async function logIn(page, env) {
  await page.goto(`${env.FLOOD_URL}/`);
  await page.waitForURL(/\/login$/);
  await page.fill("input[name=username]", env.FLOOD_USER);
  await page.fill("input[name=password]", env.FLOOD_PASSWORD);
  await page.locator("button[type=submit]").click();
  await page.waitForURL(/\/overview$/);
}

async function main() {
  const env = process.env;
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  let page = null;
  try {
    page = await browser.newPage({ viewport: { width: 1300, height: 800 }, timezoneId: "UTC" });
    page.setDefaultTimeout(15000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await register(browser, env);
    await logIn(page, env);
    // The list, empty: Flood reached Revaer's /api/v2 (login, sync/maindata).
    await page.locator(".torrents__alert", { hasText: "No torrents to display." }).waitFor();

    await addByFile(page, env.TORRENT_FILE, "");
    const row = page.locator(".torrent", { hasText: env.TORRENT_NAME });
    await row.waitFor();

    // Details while it downloads (the seeder's upload is limited): the peer, then the metainfo (Details).
    await row.dblclick();
    const details = page.locator(".modal");
    await details.locator(".modal__tab button", { hasText: "Peers" }).click();
    await details.locator("text=127.0.0.1").first().waitFor({ timeout: 20000 });
    const peers = await details.locator(".modal__body").innerText();
    await details.locator(".modal__tab button", { hasText: "Details" }).click();
    await details.locator(`text=${env.COMMENT}`).waitFor();
    const general = await details.locator(".modal__body").innerText();
    await page.keyboard.press("Escape");
    await details.waitFor({ state: "detached" });

    // Live progress in the list until the download is complete.
    await page.locator(".torrent.torrent--is-completed", { hasText: env.TORRENT_NAME }).waitFor({ timeout: 60000 });
    const completed = await row.innerText();
    const progress = await row.locator(".progress-bar__fill").getAttribute("style");
    await page.screenshot({ path: env.SCREENSHOT, fullPage: true });

    // An add whose save path is outside the allowed roots.
    await addByUrl(page, env.OUTSIDE_MAGNET, env.OUTSIDE_PATH);
    await page.waitForTimeout(3000);
    const afterRefused = await page.locator("body").innerText();
    const rows = await page.locator(".torrent").count();
    console.log(JSON.stringify({ peers, general, completed, progress, afterRefused, rows, errors }));
  } catch (e) {
    if (page) {
      console.error((await page.locator("body").innerText().catch(() => "")).slice(0, 4000));
      const html = await page.evaluate(() => document.body.innerHTML).catch(() => "");
      console.error(html.replace(/<svg.*?<\/svg>/gs, "").slice(-6000));
    }
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
