// Builds the static site (`npm run build:web` → dist/web): the renderer's page with the engine in a
// Web Worker (web/worker, onnxruntime-web), onnxruntime's WebAssembly, and the embedded model under
// model/ with manifest.json (its files, sizes, SHA-256). Relative paths throughout, so the folder
// works from any static file host and any path on it; nothing inlined, no inline scripts or styles.
// The worker finds the model at ../model/ from its script in assets/ (web/worker/embedded-model.ts).
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { openModelFolder } from '../models/src/model-folder.ts';
import { EMBEDDED_MODEL_DIR } from '../models/src/paths.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Emits the files the browser engine loads from the embedded model, and their manifest. */
function embeddedModel(dir: string): Plugin {
  return {
    name: 'likely-embedded-model',
    apply: 'build',
    async generateBundle() {
      const folder = await openModelFolder(dir);
      const tokenizer = existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')) ? ['vocab.json', 'merges.txt'] : ['tokenizer.json'];
      const onnx = [folder.onnxPath, ...folder.graph.externalData.map((d) => join(dirname(folder.onnxPath), d))].map((p) => relative(dir, p).split('\\').join('/'));
      const files = [];
      for (const path of ['config.json', ...tokenizer, ...onnx]) {
        const source = readFileSync(join(dir, path));
        this.emitFile({ type: 'asset', fileName: `model/${path}`, source });
        files.push({ path, bytes: source.length, sha256: createHash('sha256').update(source).digest('hex') });
      }
      this.emitFile({ type: 'asset', fileName: 'model/manifest.json', source: JSON.stringify({ source: basename(dir), files }, null, 1) });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  publicDir: join(here, '..', 'renderer', 'public'),
  plugins: [svelte({ compilerOptions: { runes: true } }), embeddedModel(EMBEDDED_MODEL_DIR)],
  // onnxruntime-web without its WebAssembly loader bundled in (see models/src/ort-web.ts wasmPaths).
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', 'module', 'browser', 'development|production'] },
  worker: { format: 'es' },
  build: {
    outDir: join(here, '..', 'dist', 'web'),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1000,
    // The WebAssembly loader's worker-URL scan is slow (a large file); that is expected, not a warning.
    rolldownOptions: { checks: { pluginTimings: false } },
  },
});
