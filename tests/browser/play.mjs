// Drives Debian's headless Chromium (no browser download: playwright-core with executablePath)
// through qoe_page.html and prints the page's result as one JSON line on stdout.
// Usage: node play.mjs <page url> [timeout ms]
import { chromium } from "playwright-core";

const [pageUrl, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || "120000");
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--autoplay-policy=no-user-gesture-required", "--mute-audio", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  page.on("console", (message) => console.error(`[page] ${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => console.error(`[page] error: ${error}`));
  // Every heartbeat (the final beacon too) must have been answered before the browser closes.
  // A beacon's body is not visible to the driver, so the heartbeats are counted by URL.
  let answered = 0;
  let failed = 0;
  const isHeartbeat = (request) => request.url().includes("/heartbeat");
  page.on("requestfinished", (request) => { if (isHeartbeat(request)) answered += 1; });
  page.on("requestfailed", (request) => {
    if (!isHeartbeat(request)) return;
    failed += 1;
    console.error(`[driver] heartbeat failed: ${request.resourceType()} ${request.failure()?.errorText}`);
  });
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout, polling: 100 });
  const result = await page.evaluate(() => window.__result);
  const deadline = Date.now() + timeout;
  while (answered + failed < (result.heartbeats_sent || 0)) {
    if (Date.now() > deadline) throw new Error(`heartbeats: ${answered} answered of ${result.heartbeats_sent}`);
    await page.waitForTimeout(50);  // a poll interval, not a wait for an outcome
  }
  result.heartbeats_answered = answered;
  result.heartbeats_failed = failed;
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}
