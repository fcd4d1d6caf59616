import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots');

const grid = (page: Page) => page.getByRole('list', { name: 'Browse the catalog' });
const cards = (page: Page) => grid(page).getByRole('listitem');
const status = (page: Page) => page.getByTestId('results-count');

/** Collects CSP violations and failed same-origin requests, which must not happen. */
function watchPage(page: Page) {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`failed: ${req.url()}`));
  return problems;
}

test('catalog: load, load more, search, filter, open a detail and see the view count rise', async ({ page }) => {
  const problems = watchPage(page);
  const apiCalls: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/api/')) apiCalls.push(`${req.method()} ${url.pathname}${url.search}`);
  });

  // Load the catalog.
  await page.goto('/');
  await expect(cards(page)).toHaveCount(20);
  await expect(status(page)).toHaveText('Showing 20 videos, more available.');
  const firstCard = cards(page).first();
  await expect(firstCard.getByRole('heading', { level: 3 })).not.toBeEmpty();
  await expect(firstCard.locator('.badge')).toHaveText(/^\d+:\d{2}(:\d{2})?/);
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'catalog.png'), fullPage: false });

  // Load more, driven by the API cursor.
  await page.getByRole('button', { name: 'Load more' }).click();
  await expect(cards(page)).toHaveCount(40);
  await expect(status(page)).toHaveText('Showing 40 videos, more available.');
  expect(apiCalls.some((c) => c.startsWith('GET /api/videos?') && c.includes('cursor='))).toBe(true);
  // Focus moves to the first new video.
  await expect(cards(page).nth(20).getByRole('link')).toBeFocused();

  // Debounced search: typing "oceans" sends one search, and every result matches.
  await page.getByRole('searchbox', { name: 'Search titles' }).pressSequentially('oceans', { delay: 40 });
  await expect(page).toHaveURL(/\?q=oceans$/);
  await expect(status(page)).toHaveText(/^Showing \d+ videos/);
  const titles = await cards(page).getByRole('heading', { level: 3 }).allTextContents();
  expect(titles.length).toBeGreaterThan(0);
  for (const title of titles) expect(title.toLowerCase()).toContain('oceans');
  expect(apiCalls.filter((c) => c.includes('q=')).map((c) => new URL(c.split(' ')[1], 'http://x').searchParams.get('q'))).toEqual([
    'oceans',
  ]);

  // Category filter on top of the search.
  await page.getByRole('combobox', { name: 'Category' }).selectOption('music');
  await expect(page).toHaveURL(/category=music/);
  await expect(cards(page).first().locator('.card__meta')).toContainText('Music');
  const metas = await cards(page).locator('.card__meta').allTextContents();
  for (const meta of metas) expect(meta).toContain('Music');

  // Open a detail on its own URL: a view is recorded and the count shown.
  const link = cards(page).first().getByRole('link');
  const href = await link.getAttribute('href');
  expect(href).toMatch(/^\/videos\/\d+$/);
  const viewResponse = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`${href}/views`));
  await link.click();
  await expect(page).toHaveURL(new RegExp(`${href}$`));
  const posted = await viewResponse;
  expect(posted.status()).toBe(200);
  expect(posted.request().headers()['content-type']).toBe('application/json');
  const first = (await posted.json()).views as number;
  await expect(page.getByTestId('view-count')).toHaveText(`${first.toLocaleString('en-US')} ${first === 1 ? 'view' : 'views'}`);
  await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'detail.png') });

  // Back to the same search, then open the video again: the count rises by one.
  await page.getByRole('link', { name: /Back to catalog/ }).click();
  await expect(page).toHaveURL(/\?q=oceans&category=music$/);
  await expect(page.getByRole('searchbox', { name: 'Search titles' })).toHaveValue('oceans');
  await cards(page).first().getByRole('link').click();
  await expect(page.getByTestId('view-count')).toHaveText(`${(first + 1).toLocaleString('en-US')} views`);

  // A reload of the detail URL works too (SPA fallback in nginx) and counts again.
  await page.reload();
  await expect(page.getByTestId('view-count')).toHaveText(`${(first + 2).toLocaleString('en-US')} views`);

  expect(problems).toEqual([]);
});

test('search with no match shows the empty state and announces it', async ({ page }) => {
  const problems = watchPage(page);
  await page.goto('/?q=no-such-title-anywhere');
  await expect(page.getByRole('heading', { name: 'No videos match your search' })).toBeVisible();
  await expect(status(page)).toHaveText('No videos found.');
  await expect(status(page)).toHaveAttribute('aria-live', 'polite');
  await page.getByRole('button', { name: 'Clear search and filter' }).click();
  await expect(cards(page)).toHaveCount(20);
  expect(problems).toEqual([]);
});

test('an unknown video and an unknown route show not-found pages', async ({ page }) => {
  await page.goto('/videos/99999999');
  await expect(page.getByRole('heading', { name: 'Video not found' })).toBeVisible();
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('keyboard: skip link, search field and cards are reachable with Tab', async ({ page }) => {
  await page.goto('/');
  await expect(cards(page)).toHaveCount(20);
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('searchbox', { name: 'Search titles' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('combobox', { name: 'Category' })).toBeFocused();
  await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveAttribute('href', /^\/videos\/\d+$/);
  // A visible focus ring (outline) on the focused card.
  const outline = await focused.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
});

test('small screens get a single-column grid', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto('/');
  await expect(cards(page)).toHaveCount(20);
  const [a, b] = await Promise.all([cards(page).nth(0).boundingBox(), cards(page).nth(1).boundingBox()]);
  expect(b!.y).toBeGreaterThan(a!.y + a!.height - 1);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(scrollWidth).toBeLessThanOrEqual(375);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'catalog-mobile.png') });
});
