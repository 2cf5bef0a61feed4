// The browser test of modvault's web UI: a real headless Chromium (Debian's,
// through playwright-core; no test runner). Started by
// crates/cli/tests/e2e_web.rs, which runs modvault with published modules
// and passes their names and an admin token in the environment.
import { chromium } from "playwright-core";
import path from "node:path";

const url = process.env.MODVAULT_URL;
const admin = process.env.ADMIN_TOKEN;
const shots = process.env.SCREENSHOTS;
const PUBLIC = process.env.PUBLIC_MODULE;
const HOSTILE = process.env.HOSTILE_MODULE;
const PRIVATE = process.env.PRIVATE_MODULE;
const MAX_PAGE_BYTES = 200 * 1000;

let failures = 0;
function check(condition, what) {
  if (condition) {
    console.log(`ok: ${what}`);
  } else {
    console.log(`FAIL: ${what}`);
    failures++;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  const consoleErrors = [];
  page.on("console", (m) => {
    // 404s are expected (the private module, the README's broken image).
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text());
  });

  // Bytes on the wire (headers and bodies) of everything a page loads.
  let weight = 0;
  page.on("requestfinished", async (request) => {
    const sizes = await request.sizes().catch(() => null);
    if (sizes) weight += sizes.responseBodySize + sizes.responseHeadersSize;
  });
  async function visit(address, name) {
    weight = 0;
    const response = await page.goto(url + address, { waitUntil: "networkidle" });
    check(weight < MAX_PAGE_BYTES, `${name}: ${weight} bytes on the wire (< ${MAX_PAGE_BYTES})`);
    return response;
  }
  const shot = (name, p = page) => p.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  // `/` leads a browser to the UI.
  await page.goto(url + "/", { waitUntil: "networkidle" });
  check(page.url() === url + "/ui/", `/ redirects to /ui/ (${page.url()})`);

  // Home: stats and recent versions, no private module.
  await visit("/ui/", "home");
  const home = await page.content();
  check(home.includes(PUBLIC) && !home.includes(PRIVATE), "home lists the public module, not the private one");
  await shot("home");

  // Search as you type.
  await page.fill("#live", "hel");
  await page.waitForSelector(`#results a:text("${PUBLIC}")`);
  check(true, "search as you type finds the module");
  await shot("search");
  await page.fill("#live", "corp.example");
  await page.waitForSelector(`#results a:text("${HOSTILE}")`);
  const listed = await page.locator("#results a").allTextContents();
  check(listed.includes(PUBLIC) && !listed.includes(PRIVATE), `search lists no private module (${listed})`);

  // The module page and its go get line, copied with the button.
  await page.click(`#results a:text("${PUBLIC}")`);
  await page.waitForSelector("h1.path");
  check(page.url() === `${url}/ui/${PUBLIC}`, "a result opens the module page");
  await visit(`/ui/${PUBLIC}`, "module");
  await page.click('button[data-copy="goget"]');
  await page.waitForSelector('button[data-copy="goget"]:text("Copied")');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === `go get ${PUBLIC}@v1.1.0`, `the go get line is copied (${copied})`);
  check((await page.content()).includes("<strong>hello</strong>"), "the README is rendered");
  await shot("module");

  // A phone-sized screen.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await phone.goto(`${url}/ui/${PUBLIC}`, { waitUntil: "networkidle" });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the module page fits a phone's width (overflow ${overflow}px)`);
  await shot("module-phone", phone);
  await phone.close();

  // The version page.
  await page.click('a:text-is("v1.1.0")');
  await page.waitForSelector("dl.facts");
  await visit(`/ui/${PUBLIC}/@v/v1.1.0`, "version");
  const facts = await page.locator("dl.facts").textContent();
  check(facts.includes("h1:") && facts.includes("record"), "the version page shows hashes and the checksum record");
  await shot("version");

  // The private module does not exist for an anonymous visitor.
  const hidden = await page.goto(`${url}/ui/${PRIVATE}`);
  check(hidden.status() === 404, `the private module's page is 404 (${hidden.status()})`);
  const hiddenApi = await page.evaluate(async (q) => (await (await fetch(`/api/v1/modules?q=${q}`)).json()).total, "secret");
  check(hiddenApi === 0, "the API finds no private module anonymously");

  // A hostile README runs nothing.
  await visit(`/ui/${HOSTILE}`, "hostile README");
  await page.waitForTimeout(0);
  const pwned = await page.evaluate(() => window.pwned);
  check(pwned === undefined, `no script from the README ran (window.pwned is ${pwned})`);
  check(dialogs.length === 0, "no dialog opened");
  const live = await page.evaluate(() => document.querySelectorAll("main script, main iframe, main svg, main [onerror], main [onload]").length);
  check(live === 0, "no script, iframe, svg or handler reached the page");
  await shot("hostile");

  // Log in with the admin token; the session cookie is out of scripts' reach.
  await visit("/ui/-/login", "login");
  await page.fill('input[name="token"]', admin);
  await Promise.all([page.waitForNavigation(), page.click('button:text("Log in")')]);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "modvault_session");
  check(session && session.httpOnly && session.sameSite === "Lax", "the session cookie is HttpOnly and SameSite");
  check(!(await page.evaluate(() => document.cookie)).includes("modvault_session"), "scripts cannot read the session");
  const privateWithSession = await page.goto(`${url}/ui/${PRIVATE}`);
  check(privateWithSession.status() === 200, "with the admin session the private module is there");

  // Revoke the reader token.
  await visit("/ui/-/tokens", "tokens");
  check(await page.locator('button[data-revoke="reader"]').count() === 1, "the reader token is listed");
  await shot("tokens");
  await Promise.all([page.waitForNavigation(), page.click('button[data-revoke="reader"]')]);
  check(await page.locator('button[data-revoke="reader"]').count() === 0, "the reader token is revoked");

  check(consoleErrors.length === 0, `no console errors (${consoleErrors.join(" | ")})`);
} finally {
  await browser.close();
}
if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("ok: all checks passed");
