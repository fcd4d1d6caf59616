/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app only ever calls relative /api paths, so one build serves every stage.
// For `npm run dev`, /api is proxied to a backend (default: 127.0.0.1:8000).
const apiTarget = process.env.API_PROXY_TARGET ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
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
