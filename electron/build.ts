/**
 * `npm run build:electron`: bundles the Electron main process, its preload and the engine process
 * with esbuild into dist/electron/:
 *   main.js            ESM, Electron main (package.json "main")
 *   preload.cjs        CommonJS: a sandboxed preload cannot load ES modules
 *   engine-process.js  ESM, the engine's utilityProcess entry (models/src/engine-process.ts)
 * Native and heavy packages stay external (resolved from node_modules at run time, unpacked from
 * the asar by electron-builder). `tsx electron/build.ts [OUTDIR]`.
 */
import { build, type BuildOptions } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUTDIR = join(root, 'dist', 'electron');

/** Packages loaded at run time instead of bundled. */
export const EXTERNAL = ['electron', 'onnxruntime-node', 'onnxruntime-common'];

export async function buildElectron(outdir = DEFAULT_OUTDIR): Promise<void> {
  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    target: 'node22',
    sourcemap: 'linked',
    logLevel: 'warning',
    external: EXTERNAL,
    legalComments: 'none',
  };
  // Bundled CommonJS dependencies may call require(); give ESM output one.
  const esmBanner = { js: "import { createRequire as __likelyCreateRequire } from 'node:module'; const require = __likelyCreateRequire(import.meta.url);" };
  await Promise.all([
    build({ ...common, entryPoints: [join(root, 'electron', 'main.ts')], outfile: join(outdir, 'main.js'), format: 'esm', banner: esmBanner }),
    build({ ...common, entryPoints: [join(root, 'models', 'src', 'engine-process.ts')], outfile: join(outdir, 'engine-process.js'), format: 'esm', banner: esmBanner }),
    build({ ...common, entryPoints: [join(root, 'electron', 'preload.ts')], outfile: join(outdir, 'preload.cjs'), format: 'cjs', platform: 'browser', target: 'chrome130', external: ['electron'] }),
  ]);
  // The .js files are ES modules wherever the folder is (the repo's package.json says so too).
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, 'package.json'), '{ "type": "module" }\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUTDIR;
  buildElectron(outdir).then(
    () => console.log(`built ${outdir}/{main.js,preload.cjs,engine-process.js}`),
    (e: Error) => {
      console.error(`build:electron failed: ${e.message}`);
      process.exit(1);
    },
  );
}
