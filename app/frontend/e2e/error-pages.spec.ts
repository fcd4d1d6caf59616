import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { axeViolations } from './support/axe';
import { expect, test } from './fixtures';

const ERROR_PAGES = path.resolve(import.meta.dirname, '..', '..', 'error-pages');
const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots');

/** code -> [heading, document title prefix] */
const PAGES: Record<string, [string, string]> = {
  '403': ['Access denied', 'Access denied'],
  '404': ['Page not found', 'Page not found'],
  '500': ['Something went wrong', 'Something went wrong'],
  '502': ['We can’t reach the service', 'Service unavailable'],
  '503': ['Temporarily unavailable', 'Temporarily unavailable'],
  '504': ['This is taking too long', 'Taking too long'],
};

test.describe('static error pages', () => {
  for (const [code, [heading, title]] of Object.entries(PAGES)) {
    test(`${code}.html renders on its own, with no external request`, async ({ page }) => {
      const file = path.join(ERROR_PAGES, `${code}.html`);
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      // Anything but the page itself would be a request the S3-hosted page cannot rely on.
      await page.route(/^(?!file:)/, (route) => route.abort());

      await page.goto(pathToFileURL(file).href);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
      await expect(page).toHaveTitle(`${title} · TAP Stream`);
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
