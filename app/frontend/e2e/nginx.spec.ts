import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { expect, prodUrl, test } from './fixtures';
import { FRONTEND_DIR } from './support/servers';

// Browsers revalidate the app shell on every load; CloudFront keeps it 60 s (the release bound).
const APP_SHELL_CACHE_CONTROL = 'public, max-age=0, must-revalidate, s-maxage=60';

// The CloudFront Function the default behavior runs on every viewer request before the cache and nginx.
const APP_SHELL_FUNCTION = path.join(FRONTEND_DIR, '..', '..', 'lib', 'functions', 'app_shell.js');

/** The URI the app-shell function passes on for a viewer's GET of `uri` (the real file, run in a fresh context). */
function throughAppShellFunction(uri: string): string {
  const context: { handler?: (event: unknown) => { uri: string } } = {};
  runInNewContext(readFileSync(APP_SHELL_FUNCTION, 'utf8'), context);
  const event = { version: '1.0', request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} } };
  return context.handler!(event).uri;
}

/** The nginx config exactly as shipped (its /api block included). */
test.describe('nginx (production config)', () => {
  test('/health answers 200 without touching the app', async ({ request }) => {
    const res = await request.get(`${prodUrl()}/health`);
    expect(res.status()).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers()['cache-control']).toBe('no-store');
  });

  test('index.html is revalidated by browsers, cached 60 s by CloudFront, and carries the security headers', async ({ request }) => {
    for (const path of ['/', '/index.html']) {
      const res = await request.get(`${prodUrl()}${path}`);
      expect(res.status()).toBe(200);
      const h = res.headers();
      expect(h['cache-control']).toBe(APP_SHELL_CACHE_CONTROL);
      expect(h['content-type']).toContain('text/html');
      expect(h['content-security-policy']).toContain("script-src 'self'");
      expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(h['x-content-type-options']).toBe('nosniff');
      expect(h['referrer-policy']).toBe('strict-origin-when-cross-origin');
      expect(h['server']).toBe('nginx');
      // What a browser's revalidation (and CloudFront's, after s-maxage) relies on: an ETag answered with 304.
      expect(h['etag']).toBeTruthy();
      const again = await request.get(`${prodUrl()}${path}`, { headers: { 'If-None-Match': h['etag'] } });
      expect(again.status()).toBe(304);
    }
  });

  test('the build has no inline scripts or styles (the CSP would block them)', async ({ request }) => {
    const html = await (await request.get(`${prodUrl()}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('hashed assets are immutable and gzipped; a missing asset is a plain 404', async ({ request }) => {
    const html = await (await request.get(`${prodUrl()}/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/assets\/[\w-]+-[\w-]{8}\.(js|css)$/);
      const res = await request.get(`${prodUrl()}${asset}`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(res.status()).toBe(200);
      expect(res.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers()['content-encoding']).toBe('gzip');
      expect(res.headers()['x-content-type-options']).toBe('nosniff');
    }
    // One build for every stage: no backend host baked into the bundle, only relative /api.
    const js = await (await request.get(`${prodUrl()}${assets.find((a) => a.endsWith('.js'))}`)).text();
    // (react-router itself uses "http://localhost" as a URL-parsing base, so that word is allowed.)
    expect(js).not.toMatch(/127\.0\.0\.1|localhost:\d|amazonaws\.com|cloudfront\.net|https?:\/\/[^`'"\s]*\/api\//);
    expect(js).toContain('/api');
    const missing = await request.get(`${prodUrl()}/assets/missing-00000000.js`);
    expect(missing.status()).toBe(404);
    expect(missing.headers()['cache-control']).toBeUndefined();
  });

  test('client routes fall back to the app shell', async ({ request }) => {
    const res = await request.get(`${prodUrl()}/videos/12`);
    expect(res.status()).toBe(200);
    expect(res.headers()['cache-control']).toBe(APP_SHELL_CACHE_CONTROL);
    expect(await res.text()).toContain('<div id="root"></div>');
  });

  test('the CloudFront app-shell function changes no answer: same status, body and headers as the path itself', async ({
    request,
  }) => {
    const html = await (await request.get(`${prodUrl()}/`)).text();
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)![1];
    const paths = ['/', '/videos/12', '/videos/12/', '/no/such/page', '/health', '/health/', '/api', '/api/videos',
      '/assets/missing', '/assets/missing-00000000.js', asset, '/favicon.svg', '/no-such.png', '/videos/1.5'];
    const rewritten = paths.filter((p) => throughAppShellFunction(p) !== p);
    expect(rewritten).toEqual(['/', '/videos/12', '/videos/12/', '/no/such/page', '/health/']);
    for (const p of paths) {
      const [direct, viaFunction] = await Promise.all([
        request.get(`${prodUrl()}${p}`),
        request.get(`${prodUrl()}${throughAppShellFunction(p)}`),
      ]);
      const seen = (r: typeof direct) => ({
        status: r.status(),
        type: r.headers()['content-type'],
        cacheControl: r.headers()['cache-control'],
      });
      expect(seen(viaFunction), p).toEqual(seen(direct));
      expect(await viaFunction.text(), p).toBe(await direct.text());
    }
  });

  test('/api/ is not served by the frontend in production: 404 in the API error format', async ({ request }) => {
    for (const path of ['/api/videos', '/api', '/api/health']) {
      const res = await request.get(`${prodUrl()}${path}`);
      expect(res.status()).toBe(404);
      expect(res.headers()['content-type']).toContain('application/json');
      expect((await res.json()).error.code).toBe('not_found');
    }
  });
});
