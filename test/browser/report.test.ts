/**
 * The committed HTML reports (reports/<profile>.html) opened in headless Chromium with every
 * network request refused: no console errors, every claim of the JSON report in the table, every
 * chart an SVG with marks, every evaluation example in the browser, and sorting that works.
 * A screenshot of each page lands in tmp/screenshots/.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestPath, readReport } from "../../harness/report/write.ts";
import { chromiumPath } from "./chromium.ts";

const REPORTS = resolve("reports");
const SHOTS = resolve("tmp", "screenshots");
const pages = readdirSync(REPORTS)
  .filter((f) => f.endsWith(".html"))
  .map((f) => f.slice(0, -".html".length))
  .sort();

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"] });
});
afterAll(async () => {
  await browser?.close();
});

it("there is an HTML report for every profile with a JSON report", () => {
  expect(pages.length).toBeGreaterThan(0);
  for (const f of readdirSync(REPORTS).filter((x) => /^latest(-.+)?\.json$/.test(x))) {
    const profile = readReport(join(REPORTS, f)).profile;
    expect(pages, `reports/${f} has no reports/${profile}.html`).toContain(profile);
  }
});

async function diffs(page: Page): Promise<(number | null)[]> {
  return page.$$eval("#examples-list > details.example", (els) =>
    els.map((e) => {
      const d = e.getAttribute("data-diff");
      return d === "" || d === null ? null : Number(d);
    }),
  );
}

function sortedBy(xs: (number | null)[], dir: 1 | -1): boolean {
  const nums = xs.filter((x): x is number => x !== null);
  const firstNull = xs.indexOf(null);
  if (firstNull >= 0 && xs.slice(firstNull).some((x) => x !== null)) return false; // nulls last
  return nums.every((x, i) => i === 0 || dir * (x - nums[i - 1]) >= 0);
}

describe.each(pages)("reports/%s.html", (profile) => {
  const file = join(REPORTS, `${profile}.html`);
  const report = readReport(latestPath(REPORTS, profile));
  let page: Page;
  const errors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url === pathToFileURL(file).href) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${profile}.png`), fullPage: true });
  });
  afterAll(async () => {
    await page?.close();
  });

  it("loads with no console error and no network request", () => {
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(existsSync(join(SHOTS, `${profile}.png`))).toBe(true);
  });

  it("lists every claim of the JSON report in the table, with its verdict", async () => {
    const rows = await page.$$eval("#claims-table tbody tr", (trs) =>
      trs.map((tr) => ({ id: tr.getAttribute("data-claim"), text: tr.textContent ?? "" })),
    );
    expect(rows.map((r) => r.id)).toEqual(report.claims.map((c) => c.id));
    report.claims.forEach((c, i) => {
      expect(rows[i].text).toContain(c.name);
      expect(rows[i].text).toContain(c.verdict);
    });
  });

  it("renders every chart as an SVG with marks", async () => {
    const charts = await page.$$eval(".chart", (els) =>
      els.map((el) => ({
        id: el.id,
        svg: el.querySelectorAll("svg").length,
        marks: el.querySelectorAll(
          "g[class*='role-mark'] path, g[class*='role-mark'] line, g[class*='role-mark'] rect",
        ).length,
        width: el.querySelector("svg")?.getBoundingClientRect().width ?? 0,
      })),
    );
    const ids = charts.map((c) => c.id);
    for (const id of ["chart-forest", "chart-rouge", "chart-loss"]) expect(ids).toContain(id);
    for (const c of charts) {
      expect(c.svg, c.id).toBe(1);
      expect(c.marks, c.id).toBeGreaterThan(0);
      expect(c.width, c.id).toBeGreaterThan(100);
    }
  });

  it("lists every evaluation example under its dataset id, and sorts", async () => {
    const ids = await page.$$eval("#examples-list > details.example", (els) =>
      els.map((e) => e.getAttribute("data-id")),
    );
    expect([...ids].sort()).toEqual([...report.provenance.dataset.eval.ids].sort());
    expect(sortedBy(await diffs(page), -1)).toBe(true); // biggest win first on load
    await page.click("button[data-sort='loss']");
    const loss = await diffs(page);
    expect(sortedBy(loss, 1)).toBe(true);
    await page.click("button[data-sort='index']");
    const order = await page.$$eval("#examples-list > details.example", (els) =>
      els.map((e) => Number(e.getAttribute("data-index"))),
    );
    expect(order).toEqual(order.map((_, i) => i));
    await page.click("button[data-sort='win']");
    expect(sortedBy(await diffs(page), -1)).toBe(true);
    // An example opens to its article, reference and one prediction per arm × seed.
    const first = page.locator("#examples-list > details.example").first();
    await first.locator("summary").first().click();
    await expect.poll(() => first.locator("table.outputs tbody tr").count()).toBeGreaterThan(0);
    expect(await first.locator("details.article").count()).toBe(1);
  });
});
