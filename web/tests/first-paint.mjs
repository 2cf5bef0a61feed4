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
// Rounds are interleaved (round 1 of every page and server, then round 2…)
// so that load from other work on the machine falls on every row alike.
// Prints one JSON line per (mode, server, page) with the medians of
// first-contentful-paint and of the time to the response's first byte, in
// milliseconds, and the bytes on the wire of the last timed load.
//
//   CHROMIUM=/usr/bin/chromium node first-paint.mjs ROUNDS [--mode=fresh|same|both] name=URL... -- PAGE...
import { chromium } from "playwright-core";

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

// One load of URL in TAB: [fcp, ttfb, bytes].
async function load(tab, url) {
  let bytes = 0;
  const count = async (r) => {
    const sizes = await r.sizes().catch(() => null);
    if (sizes) bytes += sizes.responseBodySize + sizes.responseHeadersSize;
  };
  tab.on("requestfinished", count);
  await tab.goto(url, { waitUntil: "load" });
  // The paint entry may be recorded after `load`: wait for it.
  const [fcp, first] = await tab.evaluate(
    () =>
      new Promise((resolve) => {
        const first = performance.getEntriesByType("navigation")[0].responseStart;
        new PerformanceObserver((list) => {
          const paint = list.getEntriesByName("first-contentful-paint")[0];
          if (paint) resolve([paint.startTime, first]);
        }).observe({ type: "paint", buffered: true });
        setTimeout(() => resolve([-1, first]), 10000);
      }),
  );
  tab.off("requestfinished", count);
  if (fcp < 0) throw new Error(`${url}: no first-contentful-paint within 10 s`);
  return [fcp, first, bytes];
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
for (const mode of modes) {
  const rows = new Map();
  const tabs = new Map();
  for (let round = -1; round < Number(rounds); round++) {
    for (const page of pages) {
      for (const [name, base] of servers) {
        let tab;
        if (mode === "fresh") tab = await context.newPage();
        else {
          if (!tabs.has(name)) tabs.set(name, await context.newPage());
          tab = tabs.get(name);
        }
        const [fcp, ttfb, bytes] = await load(tab, base + page);
        if (mode === "fresh") await tab.close();
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
  for (const tab of tabs.values()) await tab.close();
  for (const page of pages) {
    for (const [name] of servers) {
      const row = rows.get(`${name}\n${page}`);
      console.log(
        JSON.stringify({ mode, server: name, page, fcp_ms: median(row.paint), ttfb_ms: median(row.ttfb), bytes: row.bytes }),
      );
    }
  }
}
await browser.close();
