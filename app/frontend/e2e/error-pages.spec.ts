import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { axeViolations } from './support/axe';
import { expect, test } from './fixtures';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots');

/** code -> the texts its page shows: the table the pages are rendered from. */
const PAGES: Record<string, { title: string; heading: string; message: string }> = JSON.parse(
  readFileSync(path.join(ROOT, 'app', 'error-pages', 'pages.json'), 'utf8'),
);

test.describe('static error pages', () => {
  let errorPages = '';
  // The pages exactly as the synth renders them for deployment (lib/error_pages.py), in a fresh folder.
  test.beforeAll(() => {
    errorPages = mkdtempSync(path.join(tmpdir(), 'error-pages-'));
    execFileSync(process.env.PYTHON ?? 'python3', [path.join(ROOT, 'lib', 'error_pages.py'), '--out', errorPages]);
  });
  test.afterAll(() => rmSync(errorPages, { recursive: true, force: true }));

  for (const [code, { title, heading, message }] of Object.entries(PAGES)) {
    test(`${code}.html renders on its own, with no external request`, async ({ page }) => {
      const file = path.join(errorPages, `${code}.html`);
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      // Anything but the page itself would be a request the S3-hosted page cannot rely on.
      await page.route(/^(?!file:)/, (route) => route.abort());

      await page.goto(pathToFileURL(file).href);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
      await expect(page).toHaveTitle(`${title} · TAP Stream`);
      await expect(page.getByText(message)).toBeVisible();
      await expect(page.getByRole('link', { name: 'Go to the catalog' })).toHaveAttribute('href', '/');
      // Styled by its inline CSS (the product's dark background), not the browser default.
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(bg).toBe('rgb(11, 13, 23)');
      expect(await axeViolations(page)).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
      if (code === '503') await page.screenshot({ path: path.join(SCREENSHOTS, 'error-503.png') });

      // Served from S3 under /errors/<code>.html: no relative links to assets, no scripts.
      const html = readFileSync(file, 'utf8');
      expect(html).not.toMatch(/<script|<link|<img|\ssrc=|url\(|@import|https?:\/\//i);
      const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      for (const href of hrefs) expect(href).toBe('/');
    });
  }
});
