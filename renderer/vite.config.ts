// Builds the renderer (Svelte + ProseMirror) into renderer/dist: relative asset paths so the same
// build loads from the local web server and from Electron's app:// protocol; nothing inlined as
// data: URIs and no inline scripts or styles, so a strict CSP (`default-src 'self'`) holds.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  plugins: [svelte({ compilerOptions: { runes: true } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1000,
  },
});
