// The layer rules of src/ (README "Layers", eslint.config.js): shared → features → app.
// Each case lints a small module, as if it were saved at the given path, with the project's own
// ESLint config and the real src/ tree as import targets; the file itself is never written.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

const LAYER = 'boundaries/dependencies';
const RELATIVE = 'no-restricted-imports';

/** ESLint's errors for `code` saved at `file` (relative to app/frontend), as "rule: message". */
async function errors(file, code) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  assert.ok(result, `${file} was not linted (ignored by eslint.config.js?)`);
  return result.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

/** Asserts exactly one error per import, each from `rule` and matching its pattern. */
async function assertViolations(file, code, rule, patterns) {
  const found = await errors(file, code);
  assert.equal(found.length, patterns.length, `${file}: expected ${patterns.length} error(s), got:\n${found.join('\n')}`);
  patterns.forEach((pattern, i) => {
    assert.ok(found[i].startsWith(`${rule}: `), `${file}: expected ${rule}, got: ${found[i]}`);
    assert.match(found[i], pattern);
  });
}

async function assertClean(file, code) {
  assert.deepEqual(await errors(file, code), [], `${file} should lint clean`);
}

test('a feature may not import another feature (by alias or by relative path)', async () => {
  await assertViolations(
    'src/features/catalog/Probe.tsx',
    "import { VideoPage } from '@/features/video/VideoPage';\nexport const probe = VideoPage;\n",
    LAYER,
    [/from elements of type "feature" and captured values: feature="catalog" to elements of type "feature" and captured values: feature="video"/],
  );
  const relative = await errors(
    'src/features/video/Probe.ts',
    "import { useCategories } from '../catalog/useCategories';\nexport const probe = useCategories;\n",
  );
  assert.deepEqual(
    relative.map((e) => e.split(':')[0]).sort(),
    [LAYER, RELATIVE],
    `a relative cross-feature import breaks both rules:\n${relative.join('\n')}`,
  );
});

test("a feature's tests may not import another feature either", async () => {
  await assertViolations(
    'src/features/video/Probe.test.tsx',
    "import { CatalogPage } from '@/features/catalog/CatalogPage';\nexport const probe = CatalogPage;\n",
    LAYER,
    [/feature="video" to elements of type "feature" and captured values: feature="catalog"/],
  );
});

test('shared code may not import a feature, the app shell or test support', async () => {
  for (const folder of ['src/lib', 'src/api', 'src/components']) {
    await assertViolations(
      `${folder}/Probe.ts`,
      [
        "import { CatalogPage } from '@/features/catalog/CatalogPage';",
        "import { App } from '@/App';",
        "import { server } from '@/test/server';",
        'export const probe = [CatalogPage, App, server];',
      ].join('\n'),
      LAYER,
      [
        /from elements of type "shared" to elements of type "feature"/,
        /from elements of type "shared" to elements of type "app"/,
        /from elements of type "shared" to elements of type "testing"/,
      ],
    );
  }
});

test('feature code may not import the app shell or test support', async () => {
  await assertViolations(
    'src/features/catalog/Probe.ts',
    "import { App } from '@/App';\nimport { server } from '@/test/server';\nexport const probe = [App, server];\n",
    LAYER,
    [/type "feature" .* to elements of type "app"/, /type "feature" .* to elements of type "testing"/],
  );
});

test('a folder under src/ that is in no layer may not import anything local', async () => {
  await assertViolations(
    'src/hooks/useProbe.ts',
    "import { formatCount } from '@/lib/format';\nexport const probe = formatCount;\n",
    LAYER,
    [/from elements of type "unclassified" to elements of type "shared"/],
  );
});

test('imports that leave their folder use @/, not ../ (nor ./folder/ from the app shell)', async () => {
  await assertViolations(
    'src/components/Probe.ts',
    "import { formatCount } from '../lib/format';\nexport const probe = formatCount;\n",
    RELATIVE,
    [/'\.\.\/lib\/format' import is restricted .* @\/ alias/],
  );
  await assertViolations(
    'src/Probe.tsx',
    "import { CatalogPage } from './features/catalog/CatalogPage';\nexport const probe = CatalogPage;\n",
    RELATIVE,
    [/'\.\/features\/catalog\/CatalogPage' import is restricted .* @\/ alias/],
  );
});

test('allowed: features use shared code and their own files; the app composes features; tests render the app', async () => {
  await assertClean(
    'src/features/catalog/Probe.tsx',
    [
      "import { listVideos } from '@/api/client';",
      "import type { Video } from '@/api/types';",
      "import { Poster } from '@/components/Poster';",
      "import { formatCount } from '@/lib/format';",
      "import { useCategories } from './useCategories';",
      "import { VideoCard } from '@/features/catalog/VideoCard';",
      'export const probe: [unknown, Video | null, unknown, unknown, unknown, unknown] = [listVideos, null, Poster, formatCount, useCategories, VideoCard];',
    ].join('\n'),
  );
  await assertClean(
    'src/components/Probe.ts',
    "import { posterHues } from '@/lib/format';\nimport { ApiError } from '@/api/client';\nexport const probe = [posterHues, ApiError];\n",
  );
  await assertClean(
    'src/Probe.tsx',
    "import { CatalogPage } from '@/features/catalog/CatalogPage';\nimport { VideoPage } from '@/features/video/VideoPage';\nimport { App } from './App';\nexport const probe = [CatalogPage, VideoPage, App];\n",
  );
  await assertClean(
    'src/features/video/Probe.test.tsx',
    "import { App } from '@/App';\nimport { renderApp } from '@/test/render';\nimport { useVideo } from './useVideo';\nexport const probe = [App, renderApp, useVideo];\n",
  );
});
