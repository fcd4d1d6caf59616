import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

/** Demo video 1 has media (app/media/demo, served at /media/ as CloudFront does in AWS); 500 has none. */
const DEMO_ID = 1;
const NO_MEDIA_ID = 500;
const RESULTS = path.resolve(import.meta.dirname, '..', 'test-results', 'startup.jsonl');

function watchPage(page: Page) {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
  return problems;
}

const currentTime = (page: Page) => page.locator('video').evaluate((v: HTMLVideoElement) => v.currentTime);

test('a demo video plays: adaptive levels, time advances past 2 s, one view counted, no player error', async ({ page }) => {
  const problems = watchPage(page);
  const media: string[] = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/media/')) media.push(`${r.status()} ${url.pathname} ${r.headers()['content-type']}`);
  });
  await page.goto(`/videos/${DEMO_ID}`);
  const player = page.getByTestId('player');
  await expect(player).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('view-count')).toHaveAttribute('aria-busy', 'false');
  const before = Number((await page.getByTestId('view-count').textContent())!.replace(/\D/g, ''));

  const play = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/api/videos/${DEMO_ID}/play`));
  // Keyboard: Tab to the Play button and press Enter.
  await page.getByRole('button', { name: /^Play / }).focus();
  await page.keyboard.press('Enter');
  const grant = await (await play).json();
  expect(grant.manifest_url).toMatch(new RegExp(`^/media/${DEMO_ID}/h[0-9a-f]{12}/master\\.m3u8$`));
  await expect(page.getByTestId('view-count')).toHaveText(`${(before + 1).toLocaleString('en-US')} views`);

  await expect(player).toHaveAttribute('data-state', 'started');
  await expect.poll(() => currentTime(page), { timeout: 20_000 }).toBeGreaterThan(2);
  // The master playlist's renditions, as hls.js parsed them, plus Auto.
  const options = await page.getByRole('combobox', { name: 'Quality' }).locator('option').allTextContents();
  expect(options[0]).toBe('Auto');
  expect(options.length - 1).toBeGreaterThanOrEqual(2);
  expect(options.slice(1).sort()).toEqual(['240p', '360p']);
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(await page.locator('video').evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
  expect(media.some((m) => /^200 \/media\/1\/.*\/master\.m3u8 application\/vnd\.apple\.mpegurl/.test(m))).toBe(true);
  expect(media.some((m) => /^200 \/media\/1\/.*\.ts video\/mp2t/.test(m))).toBe(true);
  expect(problems).toEqual([]);
});

test('a video without media shows "not available" and no player', async ({ page }) => {
  const problems = watchPage(page);
  await page.goto(`/videos/${NO_MEDIA_ID}`);
  const player = page.getByTestId('player');
  await expect(player).toHaveAttribute('data-state', 'unavailable');
  await expect(player.getByRole('status')).toContainText('Not available');
  await expect(page.getByRole('button', { name: /^Play / })).toHaveCount(0);
  await expect(page.locator('video')).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('catalog cards of demo videos show their poster image', async ({ page }) => {
  await page.goto('/');
  const poster = page.locator('.card').first().locator('img.poster__image');
  await expect(poster).toHaveAttribute('src', new RegExp(`^/media/${DEMO_ID}/h[0-9a-f]{12}/poster\\.jpg$`));
  await expect.poll(() => poster.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
});

test('startup: time to first frame after pressing Play', async ({ page }) => {
  await page.goto(`/videos/${DEMO_ID}`);
  await expect(page.getByTestId('player')).toHaveAttribute('data-state', 'idle');
  const ms = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const video = document.querySelector('video')!;
        const t0 = performance.now();
        // The first decoded frame presented to the screen.
        video.requestVideoFrameCallback(() => resolve(performance.now() - t0));
        document.querySelector<HTMLButtonElement>('.player__start')!.click();
      }),
  );
  expect(ms).toBeGreaterThan(0);
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  appendFileSync(RESULTS, JSON.stringify({ time_to_first_frame_ms: Math.round(ms) }) + '\n');
  console.log(`time to first frame: ${Math.round(ms)} ms`);
});
