import { axeViolations } from './support/axe';
import { expect, test } from './fixtures';

test.describe('accessibility (axe-core, WCAG 2.1 A/AA)', () => {
  test('catalog, empty state, detail and not-found pages have no violations', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByRole('list', { name: 'Browse the catalog' }).getByRole('listitem')).toHaveCount(20);
    expect(await axeViolations(page)).toEqual([]);

    await page.goto('/?q=no-such-title-anywhere');
    await expect(page.getByRole('heading', { name: 'No videos match your search' })).toBeVisible();
    expect(await axeViolations(page)).toEqual([]);

    await page.goto('/videos/1');
    await expect(page.getByTestId('view-count')).toHaveText(/views?$/);
    expect(await axeViolations(page)).toEqual([]);

    await page.goto('/no/such/page');
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    expect(await axeViolations(page)).toEqual([]);
  });

  test('small screens: the catalog has no violations', async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto('/');
    await expect(page.getByRole('list', { name: 'Browse the catalog' }).getByRole('listitem')).toHaveCount(20);
    expect(await axeViolations(page)).toEqual([]);
  });
});
