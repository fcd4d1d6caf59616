/// <reference types="vitest/config" />
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// The app only ever calls relative /api paths, so one build serves every stage.
// For `npm run dev`, /api is proxied to a backend (default: 127.0.0.1:8000).
const apiTarget = process.env.API_PROXY_TARGET ?? 'http://127.0.0.1:8000';

/**
 * `npm run dev` only: serves the committed demo media (app/media/demo) at /media/, with the
 * Content-Type and Cache-Control the media bucket gives them, so the demo plays with no AWS.
 * (In AWS, CloudFront serves /media/ from S3 and checks the signed cookies.)
 */
function demoMedia(): Plugin {
  const mediaDir = path.resolve(import.meta.dirname, '..', 'media');
  const demoDir = path.join(mediaDir, 'demo');
  return {
    name: 'demo-media',
    apply: 'serve',
    configureServer(server) {
      const formats: Record<string, { content_type: string; cache_control: string }> = JSON.parse(
        readFileSync(path.join(mediaDir, 'formats.json'), 'utf8'),
      ).files;
      server.middlewares.use('/media', (req, res, next) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') return next();
        const file = path.join(demoDir, decodeURIComponent(new URL(req.url ?? '/', 'http://dev').pathname));
        const meta = formats[path.extname(file).slice(1)];
        if (!file.startsWith(demoDir + path.sep) || !meta || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          res.end();
          return;
        }
        res.setHeader('Content-Type', meta.content_type);
        res.setHeader('Cache-Control', meta.cache_control);
        res.setHeader('Content-Length', String(statSync(file).size));
        if (req.method === 'HEAD') return void res.end();
        createReadStream(file).pipe(res);
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), demoMedia()],
  // `@/…` is src/…: the mapping lives once, in tsconfig.app.json `paths` (tsc, Vite, Vitest and ESLint read it).
  resolve: { tsconfigPaths: true },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Everything under /assets/ carries a content hash (served as immutable).
    sourcemap: false,
    // Inlined assets would become data: URLs; keep them as hashed files.
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
    restoreMocks: true,
    // Vitest's 5 s per test is no more than the 5 s async-util timeout (src/test/setup.ts)
    // on a busy 2-core CI machine, and coverage instrumentation slows tests further.
    testTimeout: 20000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.{ts,tsx}'],
      // Test helpers, type-only modules and the entry point that only mounts <App />.
      exclude: ['src/**/*.test.{ts,tsx}', 'src/test/**', 'src/**/types.ts', 'src/main.tsx', 'src/vite-env.d.ts'],
      reporter: ['text', 'json-summary'],
      reportsDirectory: 'coverage',
      // `npm run test:unit` fails below these (lines, statements, functions, branches).
      thresholds: { lines: 80, statements: 80, functions: 80, branches: 80 },
    },
  },
});
