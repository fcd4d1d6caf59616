import path from 'node:path';
import js from '@eslint/js';
import globals from 'globals';
import boundaries from 'eslint-plugin-boundaries';
import reactHooks from 'eslint-plugin-react-hooks';
import reactRefresh from 'eslint-plugin-react-refresh';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/ (README "Layers"): shared → features → app.
 * - shared: src/api, src/components, src/lib. Imports only shared code.
 * - feature: src/features/<name>. Imports shared code and its own files, never another feature.
 * - app: src/App.tsx, src/main.tsx (shell and routes). The only place features are composed.
 * - testing: src/test (MSW server, fixtures, renderApp). Test support, never imported by product code.
 * Test files (*.test.ts[x]) belong to the element they sit in and may also use src/test and the app
 * (to render whole pages at a URL); a feature's tests still never import another feature.
 */
const layers = {
  plugins: { boundaries },
  settings: {
    // Element patterns are relative to this directory, whatever the working directory of ESLint.
    'boundaries/root-path': import.meta.dirname,
    // Resolves `@/…` from tsconfig.app.json `paths`, so every import is classified by its real file.
    'import/resolver': { typescript: { project: path.join(import.meta.dirname, 'tsconfig.app.json') } },
    // Patterns are folders, anchored at this directory; the first descriptor that matches a folder wins.
    'boundaries/elements': [
      { type: 'feature', pattern: 'src/features/*', partialMatch: false, capture: ['feature'] },
      { type: 'shared', pattern: 'src/{api,components,lib}', partialMatch: false },
      { type: 'testing', pattern: 'src/test', partialMatch: false },
      // A new folder under src/ belongs to no layer until it is listed above: no policy covers it.
      { type: 'unclassified', pattern: 'src/*', partialMatch: false },
      // What is left is a file directly in src/: the app shell (App.tsx, main.tsx).
      { type: 'app', pattern: 'src', partialMatch: false },
    ],
    'boundaries/files': [{ category: 'test', pattern: '**/*.test.{ts,tsx}' }],
  },
  rules: {
    'boundaries/dependencies': [
      'error',
      {
        default: 'disallow',
        policies: [
          { from: { element: { type: 'shared' } }, allow: { to: { element: { type: 'shared' } } } },
          { from: { element: { type: 'feature' } }, allow: { to: { element: { type: 'shared' } } } },
          { from: { element: { type: 'app' } }, allow: { to: { element: { type: ['shared', 'feature', 'app'] } } } },
          { from: { element: { type: 'testing' } }, allow: { to: { element: { type: ['shared', 'app'] } } } },
          { from: { file: { categories: 'test' } }, allow: { to: { element: { type: ['app', 'testing'] } } } },
        ],
      },
    ],
    // Relative imports stay inside their folder; anything else goes through `@/` (no `../`).
    'no-restricted-imports': [
      'error',
      { patterns: [{ regex: '^\\.\\./', message: 'Import from another folder with the @/ alias (@/ is src/).' }] },
    ],
  },
};

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'test-results', 'playwright-report', 'coverage', '.venv'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.browser, ...globals.node } },
    plugins: { 'react-hooks': reactHooks, 'react-refresh': reactRefresh },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'react-refresh/only-export-components': ['warn', { allowConstantExport: true }],
    },
  },
  { files: ['src/**/*.{ts,tsx}'], ...layers },
  {
    // The app shell sits at the top of src/: `./x` is a sibling, a folder below is another layer.
    files: ['src/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\.?/[^/]+/', message: 'Import from another folder with the @/ alias (@/ is src/).' }] },
      ],
    },
  },
  {
    // Playwright fixtures: `use` is not a React hook and `{}` is how a fixture takes no deps.
    files: ['e2e/**/*.ts'],
    rules: { 'react-hooks/rules-of-hooks': 'off', 'no-empty-pattern': 'off' },
  },
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },
);
