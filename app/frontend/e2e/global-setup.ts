import { existsSync } from 'node:fs';
import path from 'node:path';
import { FRONTEND_DIR, startBackend, startNginx } from './support/servers';

/** Starts backend + nginx once for the whole run; the returned function tears them down. */
export default async function globalSetup() {
  const distDir = path.join(FRONTEND_DIR, 'dist');
  if (!existsSync(path.join(distDir, 'index.html'))) {
    throw new Error('No production build in dist/: run `npm run build` (make test does) first.');
  }
  const backend = await startBackend();
  let nginx;
  try {
    nginx = await startNginx({ distDir, apiUpstream: backend.url });
  } catch (error) {
    await backend.stop();
    throw error;
  }
  process.env.E2E_APP_URL = nginx.localUrl;
  process.env.E2E_PROD_URL = nginx.prodUrl;
  process.env.E2E_BACKEND_URL = backend.url;

  return async () => {
    await nginx.stop();
    await backend.stop();
  };
}
