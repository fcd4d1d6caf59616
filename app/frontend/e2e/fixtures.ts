import { test as base, expect } from '@playwright/test';

/**
 * Global setup picks free ports at run time, so the base URL comes from the
 * environment it leaves behind (`E2E_APP_URL`), not from the config file.
 */
export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(process.env.E2E_APP_URL);
  },
});

export { expect };

export const prodUrl = () => process.env.E2E_PROD_URL!;
