// Lint rules that keep the layers apart (see DEVELOPERS.md): the engine never imports Electron or
// DOM code, the renderer (its .svelte components too) never imports Node, and exactly one file
// imports onnxruntime-node.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'net', 'http', 'https', 'crypto', 'stream', 'url', 'util', 'events', 'zlib'];
const ORT_ONLY_FILE = 'models/src/ort.ts';
const ort = { group: ['onnxruntime-node', 'onnxruntime-node/*', 'onnxruntime-common'], message: `Only ${ORT_ONLY_FILE} imports onnxruntime.` };
const electron = { group: ['electron', 'electron/*'], message: 'The engine and shared code never import Electron.' };
const ui = { group: ['svelte', 'svelte/*', 'prosemirror-*', '**/renderer/**'], message: 'The engine never imports renderer code.' };
const node = { group: NODE_BUILTINS, message: 'The renderer and common code never import Node.' };
const engine = { group: ['**/models/**', '**/electron/**', '**/node/**', '**/server/**'], message: 'The renderer talks to the engine only through common/api.ts.' };
const above = (layer) => ({ group: ['**/models/**', '**/server/**', '**/electron/**'], message: `${layer} is below the engine, the server and Electron: it never imports them.` });
const shells = { group: ['**/server/**', '**/electron/**'], message: 'The engine never imports the web server or Electron.' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'models/random/**', 'models/training/**', 'e2e/artifacts/**', 'renderer/dist/**'] },
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
      'no-restricted-imports': ['error', { patterns: [ort] }],
    },
  },
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  { files: ['models/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ort, electron, ui, shells] }] } },
  // node/: plain-Node services (files, sessions, recovery, settings, static files) under the engine, Electron and the server.
  { files: ['node/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ort, electron, ui, above('node/')] }] } },
  // server/: the local web server, plain Node (never Electron, never the renderer's code).
  { files: ['server/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ort, electron, ui, { group: ['**/electron/**'], message: 'The web server is not Electron.' }] }] } },
  { files: [ORT_ONLY_FILE], rules: { 'no-restricted-imports': ['error', { patterns: [electron, ui] }] } },
  { files: ['common/**/*.ts'], ignores: ['common/**/*.test.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ort, electron, ui, node] }] } },
  { files: ['renderer/**/*.ts', 'renderer/**/*.svelte'], ignores: ['renderer/**/*.test.ts', 'renderer/vite.config.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ort, electron, node, engine] }] } },
);
