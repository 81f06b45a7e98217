// Renders an HTML report of `lean-sidecar eval` in headless Chromium (playwright-core, as the
// VS Code end-to-end tests drive it) and prints what a reader sees of each chart as JSON: its
// axis tick labels, every text, whether it has an SVG and where it lies on the page. Saves a
// full-page screenshot. Env: REPORT (the .html), SHOT (the .png), CHROMIUM (the browser).
const { chromium } = require("playwright-core");
const { pathToFileURL } = require("url");

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(pathToFileURL(process.env.REPORT).href, { waitUntil: "load" });
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll("figure.chart")].map((fig) => {
        const svg = fig.querySelector("svg");
        const texts = (sel) =>
          [...fig.querySelectorAll(sel)]
            .map((t) => ({ text: t.textContent.trim(), width: t.getBoundingClientRect().width }))
            .filter((t) => t.text);
        const box = (svg || fig).getBoundingClientRect();
        return {
          id: fig.id,
          svgs: fig.querySelectorAll("svg").length,
          box: { x: box.x, y: box.y, width: box.width, height: box.height },
          xticks: texts('g[id*="xtick_"] text'),
          yticks: texts('g[id*="ytick_"] text'),
          texts: texts("text").map((t) => t.text),
        };
      }),
    );
    const headline = await page.textContent(".headline");
    const run = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll("#run tr")].map((tr) => [
          tr.querySelector("th").textContent,
          tr.querySelector("td").textContent,
        ]),
      ),
    );
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.screenshot({ path: process.env.SHOT, fullPage: true });
    console.log(JSON.stringify({ charts, headline, run, errors, scrollWidth }));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
