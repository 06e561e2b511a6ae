// Ambient types of the renderer build: Svelte's runes ($state, $effect…) in .svelte.ts files,
// `*.svelte` imports, and Vite's import.meta.glob.
/// <reference types="svelte" />
/// <reference types="vite/client" />
