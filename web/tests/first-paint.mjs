// First paint of the web UI's pages in a real headless Chromium, warm:
// every page is loaded once before the timed rounds. For each base URL
// (modvault, and nginx serving the same pages' bytes as files) and page,
// ROUNDS loads in a fresh tab each; prints one JSON line per (server,
// page) with the medians of first-contentful-paint and of the time to the
// response's first byte, in milliseconds, and the bytes on the wire.
//
//   CHROMIUM=/usr/bin/chromium node first-paint.mjs ROUNDS name=URL... -- PAGE...
import { chromium } from "playwright-core";

const [rounds, ...rest] = process.argv.slice(2);
const split = rest.indexOf("--");
const servers = rest.slice(0, split).map((s) => s.split(/=(.*)/s).slice(0, 2));
const pages = rest.slice(split + 1);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
for (const page of pages) {
  for (const [name, base] of servers) {
    const paint = [], ttfb = [];
    let weight = 0;
    for (let round = -1; round < Number(rounds); round++) {
      const tab = await context.newPage();
      let bytes = 0;
      tab.on("requestfinished", async (r) => {
        const sizes = await r.sizes().catch(() => null);
        if (sizes) bytes += sizes.responseBodySize + sizes.responseHeadersSize;
      });
      await tab.goto(base + page, { waitUntil: "load" });
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
      if (fcp < 0) throw new Error(`${base}${page}: no first-contentful-paint within 10 s`);
      await tab.close();
      if (round < 0) continue; // the warm-up load
      paint.push(fcp);
      ttfb.push(first);
      weight = bytes;
    }
    console.log(JSON.stringify({ server: name, page, fcp_ms: median(paint), ttfb_ms: median(ttfb), bytes: weight }));
  }
}
await browser.close();
