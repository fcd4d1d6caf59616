// Checks of the container recipe that need no Docker engine: hadolint, plus the
// facts the CDK stack relies on (non-root nginx on 8080, /tmp for writable state).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');
const read = (p) => readFileSync(path.join(root, p), 'utf8');
const hadolint = process.env.HADOLINT ?? path.join(root, '.venv/bin/hadolint');

test('Dockerfile is hadolint clean', () => {
  assert.ok(existsSync(hadolint), `hadolint not found at ${hadolint} (make test installs it)`);
  const run = spawnSync(hadolint, ['--failure-threshold', 'info', 'Dockerfile'], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, `hadolint findings:\n${run.stdout}${run.stderr}`);
});

test('Dockerfile: multi-stage node build with npm ci, non-root nginx-unprivileged on 8080', () => {
  const df = read('Dockerfile');
  // Base images are build arguments (stand-ins in the container tests); the defaults are what ships.
  const args = Object.fromEntries([...df.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  assert.deepEqual(args, { NODE_IMAGE: 'node:20-bookworm-slim', NGINX_IMAGE: 'nginxinc/nginx-unprivileged:1.27-alpine' });
  const froms = [...df.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(froms, ['${NODE_IMAGE}', '${NGINX_IMAGE}']);
  assert.match(df, /^\s*npm ci\b/m);
  assert.match(df, /^COPY package\.json package-lock\.json \.\/$/m);
  assert.match(df, /^COPY --from=build \/app\/dist \/usr\/share\/nginx\/html$/m);
  assert.match(df, /^EXPOSE 8080$/m);
  const users = [...df.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  assert.ok(users.length > 0 && !['0', 'root'].includes(users.at(-1)), 'final stage must run as non-root');
  assert.match(df, /http:\/\/127\.0\.0\.1:8080\/health/);
});

test('Dockerfile: /tmp is a declared volume (Fargate copies its mode in) and nginx stops gracefully', () => {
  const df = read('Dockerfile');
  const serve = df.slice(df.lastIndexOf('\nFROM '));
  assert.match(serve, /^RUN chmod 1777 \/tmp$/m);
  assert.ok(serve.indexOf('chmod 1777 /tmp') < serve.indexOf('VOLUME /tmp'), 'mode set before the volume is declared');
  assert.match(serve, /^VOLUME \/tmp$/m);
  assert.match(serve, /^STOPSIGNAL SIGQUIT$/m);
});

test('every file the Dockerfile copies exists and is not excluded by .dockerignore', () => {
  const df = read('Dockerfile');
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const m of df.matchAll(/^COPY (?!--from)(.+)$/gm)) {
    const sources = m[1].trim().split(/\s+/).slice(0, -1);
    for (const src of sources) {
      assert.ok(existsSync(path.join(root, src)), `COPY source missing: ${src}`);
      assert.ok(!ignored.includes(src.replace(/\/$/, '')), `COPY source excluded by .dockerignore: ${src}`);
    }
  }
  assert.ok(ignored.includes('node_modules') && ignored.includes('dist'));
});

test('nginx: non-root friendly (pid and temp paths under /tmp, port 8080)', () => {
  const main = read('nginx/nginx.conf');
  assert.match(main, /^pid \/tmp\/nginx\.pid;$/m);
  for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    assert.match(main, new RegExp(`^\\s*${kind}_temp_path /tmp/\\w+;$`, 'm'), `${kind}_temp_path under /tmp`);
  }
  assert.doesNotMatch(main, /^\s*user\s/m, 'no "user" directive: the container already runs unprivileged');
  assert.match(main, /^\s*gzip on;$/m);
  const server = read('nginx/default.conf');
  assert.match(server, /listen 8080 default_server;/);
  assert.match(server, /# BEGIN api[\s\S]*return 404[\s\S]*# END api/);
});

test('package.json pins exact versions and the lockfile matches it', () => {
  const pkg = JSON.parse(read('package.json'));
  const lock = JSON.parse(read('package-lock.json'));
  for (const deps of [pkg.dependencies, pkg.devDependencies]) {
    for (const [name, version] of Object.entries(deps)) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name} must be pinned exactly, got ${version}`);
      assert.equal(lock.packages[`node_modules/${name}`]?.version, version, `${name} in package-lock.json`);
    }
  }
});

test('the lockfile carries the glibc native bindings the image build needs', () => {
  // The build stage is node:20-bookworm-slim (glibc); Vite's bundler and CSS minifier ship per-platform binaries.
  const lock = JSON.parse(read('package-lock.json'));
  for (const arch of ['x64', 'arm64']) {
    assert.ok(lock.packages[`node_modules/@rolldown/binding-linux-${arch}-gnu`], `rolldown linux-${arch}-gnu`);
    assert.ok(lock.packages[`node_modules/lightningcss-linux-${arch}-gnu`], `lightningcss linux-${arch}-gnu`);
  }
});
