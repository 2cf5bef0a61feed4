// First paint of the web UI's pages in a real headless Chromium, warm:
// every page is loaded once before the timed rounds. For each base URL
// (modvault, and nginx serving the same pages' bytes as files) and page,
// ROUNDS timed loads in each of two modes:
//
//   fresh  every load in a new tab: a renderer process started for the
//          load, as when a link is opened in a new tab;
//   same   every load a navigation in one tab per server that has already
//          shown the UI's pages, as when a user clicks through the UI.
//
// Chromium is driven over a bare DevTools pipe, not through Playwright:
// the only things asked of a tab are its load event (Page domain) and,
// after the load, one script reading the paint entry. Playwright reports
// every request and frame event to its Node process during the load and
// sets up its own script world per document; on two cores that work
// competes with the page being measured. Every measured tab is in front,
// as the tab a user looks at.
//
// Rounds are interleaved (round 1 of every page and server, then round 2…)
// so that load from other work on the machine falls on every row alike.
// Prints one JSON line per (mode, server, page) with the medians of
// first-contentful-paint and of the time to the response's first byte, in
// milliseconds, and the bytes on the wire of the last timed load (Resource
// Timing's transfer sizes: 0 for what came from the browser's cache).
//
//   CHROMIUM=/usr/bin/chromium node first-paint.mjs ROUNDS [--mode=fresh|same|both] name=URL... -- PAGE...
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const modeArg = args.find((a) => a.startsWith("--mode="));
const [rounds, ...rest] = args.filter((a) => a !== modeArg);
const modes = { fresh: ["fresh"], same: ["same"], both: ["fresh", "same"] }[modeArg ? modeArg.slice(7) : "both"];
if (!modes) throw new Error(`unknown ${modeArg}: fresh, same or both`);
const split = rest.indexOf("--");
const servers = rest.slice(0, split).map((s) => s.split(/=(.*)/s).slice(0, 2));
const pages = rest.slice(split + 1);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// The browser, with a profile of its own, spoken to over fds 3 (to it) and
// 4 (from it): JSON messages, each ended by a NUL byte.
const profile = mkdtempSync(join(tmpdir(), "first-paint-"));
const browser = spawn(
  process.env.CHROMIUM,
  ["--headless", "--no-sandbox", "--remote-debugging-pipe", `--user-data-dir=${profile}`, "--no-first-run", "about:blank"],
  { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
);
const waiting = new Map();
const listeners = new Set();
let lastId = 0;
let pending = "";
browser.on("exit", (code) => {
  for (const [, [, reject]] of waiting) reject(new Error(`chromium exited (${code})`));
  waiting.clear();
});
browser.stdio[4].on("data", (chunk) => {
  pending += chunk.toString();
  for (let end; (end = pending.indexOf("\0")) >= 0; ) {
    const message = JSON.parse(pending.slice(0, end));
    pending = pending.slice(end + 1);
    if (message.id === undefined) {
      for (const listener of listeners) listener(message);
      continue;
    }
    const [resolve, reject] = waiting.get(message.id) ?? [];
    waiting.delete(message.id);
    if (message.error) reject?.(new Error(`${message.error.message} (${message.error.code})`));
    else resolve?.(message.result);
  }
});
// One DevTools command; a browser that does not answer in 30 s fails the run.
function send(method, params = {}, sessionId) {
  return new Promise((resolve, reject) => {
    const id = ++lastId;
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`${method}: no answer from chromium within 30 s`));
    }, 30000);
    const done = (f) => (v) => {
      clearTimeout(timer);
      f(v);
    };
    waiting.set(id, [done(resolve), done(reject)]);
    browser.stdio[3].write(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }) + "\0");
  });
}
function event(method, sessionId) {
  return new Promise((resolve) => {
    const listener = (m) => {
      if (m.method === method && m.sessionId === sessionId) {
        listeners.delete(listener);
        resolve(m.params);
      }
    };
    listeners.add(listener);
  });
}

// A tab in front: in the window fresh tabs open in, or in a window of its
// own (a tab per server in one window would be hidden while another is
// shown, and a hidden tab does not paint). A new window per fresh tab
// would measure the window too: its toolbar (a WebUI page of ~90
// resources) loads beside the page, some 40 ms on two cores.
async function newTab(newWindow) {
  const { targetId } = await send("Target.createTarget", { url: "about:blank", newWindow });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  await send("Page.enable", {}, sessionId);
  await send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 860, deviceScaleFactor: 1, mobile: false }, sessionId);
  return { targetId, sessionId };
}

// Run in the page after its load: the paint entry may come after `load`.
const probe = `new Promise((resolve) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const bytes = performance.getEntriesByType("resource").reduce((n, r) => n + r.transferSize, nav.transferSize);
  if (document.visibilityState !== "visible") resolve([-2, 0, 0]);
  new PerformanceObserver((list) => {
    const paint = list.getEntriesByName("first-contentful-paint")[0];
    if (paint) resolve([paint.startTime, nav.responseStart, bytes]);
  }).observe({ type: "paint", buffered: true });
  setTimeout(() => resolve([-1, nav.responseStart, bytes]), 10000);
})`;

// One load of URL in TAB: [fcp, ttfb, bytes].
async function load(tab, url) {
  const loaded = event("Page.loadEventFired", tab.sessionId);
  const { errorText } = await send("Page.navigate", { url }, tab.sessionId);
  if (errorText) throw new Error(`${url}: ${errorText}`);
  await loaded;
  const { result, exceptionDetails } = await send(
    "Runtime.evaluate",
    { expression: probe, awaitPromise: true, returnByValue: true },
    tab.sessionId,
  );
  if (exceptionDetails) throw new Error(`${url}: ${exceptionDetails.text}`);
  if (result.value[0] === -2) throw new Error(`${url}: the tab was not on screen`);
  if (result.value[0] < 0) throw new Error(`${url}: no first-contentful-paint within 10 s`);
  return result.value;
}

try {
  await send("Browser.getVersion");
  await newTab(true); // the window that fresh tabs open in
  for (const mode of modes) {
    const rows = new Map();
    const tabs = new Map();
    for (let round = -1; round < Number(rounds); round++) {
      for (const page of pages) {
        for (const [name, base] of servers) {
          let tab;
          if (mode === "fresh") tab = await newTab(false);
          else {
            if (!tabs.has(name)) tabs.set(name, await newTab(true));
            tab = tabs.get(name);
          }
          const [fcp, ttfb, bytes] = await load(tab, base + page);
          if (mode === "fresh") await send("Target.closeTarget", { targetId: tab.targetId });
          if (round < 0) continue; // the warm-up load
          const key = `${name}\n${page}`;
          if (!rows.has(key)) rows.set(key, { server: name, page, paint: [], ttfb: [], bytes: 0 });
          const row = rows.get(key);
          row.paint.push(fcp);
          row.ttfb.push(ttfb);
          row.bytes = bytes;
        }
      }
    }
    for (const tab of tabs.values()) await send("Target.closeTarget", { targetId: tab.targetId });
    for (const page of pages) {
      for (const [name] of servers) {
        const row = rows.get(`${name}\n${page}`);
        console.log(
          JSON.stringify({ mode, server: name, page, fcp_ms: median(row.paint), ttfb_ms: median(row.ttfb), bytes: row.bytes }),
        );
      }
    }
  }
} finally {
  browser.kill();
  await new Promise((resolve) => (browser.exitCode === null ? browser.on("exit", resolve) : resolve()));
  rmSync(profile, { recursive: true, force: true });
}
