// Lint rules that keep the layers apart (see DEVELOPERS.md): the engine never imports Electron or
// DOM code, the renderer (its .svelte components too) never imports Node, one file per build
// imports onnxruntime (ort.ts: onnxruntime-node; ort-web.ts: onnxruntime-web), and the engine files
// the browser build runs (web/worker) never import Node.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'net', 'http', 'https', 'crypto', 'stream', 'url', 'util', 'events', 'zlib'];
const ORT_ONLY_FILE = 'models/src/ort.ts';
const ORT_WEB_ONLY_FILE = 'models/src/ort-web.ts';
const ortNode = { group: ['onnxruntime-node', 'onnxruntime-node/*', 'onnxruntime-common'], message: `Only ${ORT_ONLY_FILE} imports onnxruntime-node.` };
const ortWeb = { group: ['onnxruntime-web', 'onnxruntime-web/*'], message: `Only ${ORT_WEB_ONLY_FILE} imports onnxruntime-web (and web/worker/engine-host.ts its WebAssembly files' URLs).` };
const ort = [ortNode, ortWeb];
// The engine as the browser runs it (web/worker/tsconfig.json lists the same files and typechecks
// them without Node's types): the same code as the desktop engine, so no Node in any of them.
const SHARED_ENGINE = ['engine', 'engine-handlers', 'engine-session', 'attention', 'attention-graph', 'gpt2', 'infill', 'fix-candidates', 'windows', 'tokenizer', 'model-config', 'model-files', 'onnx-graph', 'scoring-head', 'protobuf', 'session', 'yield', 'ort-web'].map((f) => `models/src/${f}.ts`);
const electron = { group: ['electron', 'electron/*'], message: 'The engine and shared code never import Electron.' };
const ui = { group: ['svelte', 'svelte/*', 'prosemirror-*', '**/renderer/**'], message: 'The engine never imports renderer code.' };
const node = { group: NODE_BUILTINS, message: 'The renderer, common code and the engine the browser runs never import Node.' };
const engine = { group: ['**/models/**', '**/electron/**', '**/node/**', '**/server/**'], message: 'The renderer talks to the engine only through common/api.ts.' };
const above = (layer) => ({ group: ['**/models/**', '**/server/**', '**/electron/**'], message: `${layer} is below the engine, the server and Electron: it never imports them.` });
const shells = { group: ['**/server/**', '**/electron/**'], message: 'The engine never imports the web server or Electron.' };

export default tseslint.config(
  { ignores: ['node_modules/**', '.scratch/**', 'dist/**', 'out/**', 'models/random/**', 'models/training/**', 'e2e/artifacts/**', 'renderer/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  // TypeScript inside <script lang="ts"> and in .svelte.ts state classes; browser globals.
  // Reactive fields are $state; plain Sets there are bookkeeping (listeners, waiters) no view reads.
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser }, globals: globals.browser },
    rules: { 'svelte/prefer-svelte-reactivity': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [...ort] }],
    },
  },
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  { files: ['models/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, ui, shells] }] } },
  // node/: plain-Node services (files, sessions, recovery, settings, static files) under the engine, Electron and the server.
  { files: ['node/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, ui, above('node/')] }] } },
  // server/: the local web server, plain Node (never Electron, never the renderer's code).
  { files: ['server/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, ui, { group: ['**/electron/**'], message: 'The web server is not Electron.' }] }] } },
  { files: [ORT_ONLY_FILE], rules: { 'no-restricted-imports': ['error', { patterns: [ortWeb, electron, ui] }] } },
  { files: SHARED_ENGINE, rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, ui, shells, node] }] } },
  { files: [ORT_WEB_ONLY_FILE], rules: { 'no-restricted-imports': ['error', { patterns: [ortNode, electron, ui, shells, node] }] } },
  // The static build's worker: the shared engine and common code, never Node, the renderer or the shells.
  { files: ['web/worker/**/*.ts'], ignores: ['web/worker/**/*.test.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ortNode, electron, node, { group: ['**/renderer/**', 'svelte', 'svelte/*', 'prosemirror-*'], message: 'The engine worker never imports the page.' }, shells, { group: ['**/models/manager/**', '**/models/service/**', '**/models/cli/**', '**/node/**'], message: 'The engine worker runs only the shared engine (models/src) and common code.' }] }] } },
  // The static build's page entry: the renderer and the worker's URL, nothing of Node or the engine.
  { files: ['web/page/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, node, engine] }] } },
  { files: ['common/**/*.ts'], ignores: ['common/**/*.test.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, ui, node] }] } },
  { files: ['renderer/**/*.ts', 'renderer/**/*.svelte'], ignores: ['renderer/**/*.test.ts', 'renderer/vite.config.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...ort, electron, node, engine] }] } },
);
