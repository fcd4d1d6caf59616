/**
 * Starts what the browser tests run against: the real backend (throwaway
 * PostgreSQL + demo catalog) and a real nginx serving the production build with
 * the project's own nginx config.
 *
 * nginx gets two servers from the same default.conf:
 *  - "prod":  the config as shipped (its /api/ answers 404), used for header checks;
 *  - "local": the same server with the /api block swapped for a proxy to the backend,
 *             which is what the browser uses (CloudFront/ALB do this in AWS).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const FRONTEND_DIR = path.resolve(import.meta.dirname, '..', '..');
export const REPO_ROOT = path.resolve(FRONTEND_DIR, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Signals the child (which cleans up after itself: run_local.py stops the API server and
 * removes its PostgreSQL); kills its whole process group only if it hangs.
 */
function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  if (child.pid === undefined || child.exitCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      resolve();
    }, 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(child.pid!, signal);
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

export interface Started {
  url: string;
  stop: () => Promise<void>;
}

/** `app/backend/.venv/bin/python app/backend/scripts/run_local.py --port N`, until it prints READY. */
export async function startBackend(timeoutMs = 120_000): Promise<Started> {
  const python = path.join(REPO_ROOT, 'app/backend/.venv/bin/python');
  const script = path.join(REPO_ROOT, 'app/backend/scripts/run_local.py');
  const port = await freePort();
  const child = spawn(python, [script, '--port', String(port)], {
    cwd: REPO_ROOT,
    detached: true, // own process group, so teardown also stops the API server and PostgreSQL
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend not READY in ${timeoutMs} ms:\n${log.join('')}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      log.push(text);
      const m = /READY (http:\/\/\S+)/.exec(log.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`backend exited with ${code} before READY:\n${log.join('')}`));
    });
  });
  child.stdout!.removeAllListeners('data').resume();
  child.stderr!.removeAllListeners('data').resume();
  return { url, stop: () => stopGroup(child, 'SIGTERM') };
}

const API_BLOCK = /# BEGIN api[\s\S]*?# END api/;

/** The shipped default.conf, adjusted only where a test machine differs from the image. */
export const DEMO_MEDIA_DIR = path.join(REPO_ROOT, 'app', 'media', 'demo');

export function serverConf(opts: { port: number; root: string; apiUpstream?: string }): string {
  let conf = readFileSync(path.join(FRONTEND_DIR, 'nginx/default.conf'), 'utf8');
  if (!API_BLOCK.test(conf)) throw new Error('nginx/default.conf lost its "# BEGIN api" / "# END api" markers');
  conf = conf.replace(/listen 8080 default_server;/, `listen 127.0.0.1:${opts.port};`);
  conf = conf.replace(/root \/usr\/share\/nginx\/html;/, `root ${opts.root};`);
  if (opts.apiUpstream) {
    conf = conf.replace(
      API_BLOCK,
      `# local only: proxy /api to the backend, as the ALB does in AWS
    location /api/ {
        proxy_pass ${opts.apiUpstream};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
    # local only: the demo media, as CloudFront serves the media bucket at /media/ in AWS
    location ^~ /media/ {
        alias ${DEMO_MEDIA_DIR}/;
        add_header Cache-Control "public, max-age=31536000, immutable";
    }`,
    );
  }
  return conf;
}

export interface NginxStarted {
  prodUrl: string;
  localUrl: string;
  stop: () => Promise<void>;
}

export async function startNginx(opts: { distDir: string; apiUpstream: string }): Promise<NginxStarted> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fe-nginx-'));
  const [prodPort, localPort] = [await freePort(), await freePort()];

  // nginx.conf as shipped; only its /tmp paths move into this run's own directory, and the
  // access log goes to a file (a test runner's stdout is a socket nginx cannot reopen).
  const main = readFileSync(path.join(FRONTEND_DIR, 'nginx/nginx.conf'), 'utf8')
    .replaceAll('/tmp/', `${dir}/`)
    .replace('access_log /dev/stdout', `access_log ${dir}/access.log`);
  writeFileSync(path.join(dir, 'nginx.conf'), main);
  cpSync('/etc/nginx/mime.types', path.join(dir, 'mime.types'));
  cpSync(path.join(FRONTEND_DIR, 'nginx/snippets'), path.join(dir, 'snippets'), { recursive: true });
  mkdirSync(path.join(dir, 'conf.d'));
  writeFileSync(path.join(dir, 'conf.d/prod.conf'), serverConf({ port: prodPort, root: opts.distDir }));
  writeFileSync(
    path.join(dir, 'conf.d/local.conf'),
    serverConf({ port: localPort, root: opts.distDir, apiUpstream: opts.apiUpstream }),
  );

  // As in the container, nginx runs as an unprivileged user: as root we drop to nobody.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o755);
    chownSync(dir, 65534, 65534);
  }
  const nginx = process.env.NGINX_BIN ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
  const cmd = asRoot ? 'runuser' : nginx;
  const base = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', 'stderr'];
  const args = asRoot ? ['-u', 'nobody', '--', nginx, ...base] : base;

  const check = spawnSync(cmd, [...args, '-t', '-q'], { encoding: 'utf8' });
  if (check.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx -t failed:\n${check.stderr}`);
  }

  const child = spawn(cmd, [...args, '-g', 'daemon off;'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));

  const prodUrl = `http://127.0.0.1:${prodPort}`;
  const localUrl = `http://127.0.0.1:${localPort}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(`${localUrl}/health`)).ok && (await fetch(`${prodUrl}/health`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopGroup(child, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    prodUrl,
    localUrl,
    stop: async () => {
      await stopGroup(child, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
