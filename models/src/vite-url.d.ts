// Vite's `?url` imports (ort-web.ts): the built file's URL (web/vite.config.ts copies the file as an asset).
declare module '*?url' {
  const url: string;
  export default url;
}
