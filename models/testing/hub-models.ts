/**
 * For tests: the hub's GPT-2 repos rebuilt offline. Every file a registry entry fetches is built
 * with the interface the real file has (models/synthetic/gpt2-onnx.ts; sources in
 * models/manager/README.md), from the embedded model's weights, so each one must score like the
 * embedded model (to float noise for fp32, to fp16/int8 rounding otherwise):
 *   Xenova/gpt2                      merged decoder (If on use_cache_branch, no position_ids, opset 13)
 *   onnx-community/gpt2-*-ONNX       decoder with past and position_ids, opset 14
 *   model.onnx / model_fp16.onnx / model_quantized.onnx   fp32 / fp16 weights with float32 I/O / int8
 *   a listed `<file>_data`           the weights in external data
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import type { RegistryModel } from '../manager/registry.ts';
import { writeGpt2Onnx, type Gpt2Weights } from '../synthetic/gpt2-onnx.ts';
import { buildModelFolder, embeddedShape, embeddedWeights, type OnnxVariant } from '../synthetic/random-models.ts';


/** The interface of the hub's file `path` in `repo` (whose listing holds `files`). */
export function hubVariant(repo: string, path: string, files: readonly string[]): OnnxVariant {
  const name = basename(path);
  const weights: Gpt2Weights = name === 'model_fp16.onnx' ? 'fp16' : name === 'model_quantized.onnx' ? 'int8' : 'fp32';
  return { interface: repo === 'Xenova/gpt2' ? 'merged' : 'with-past', weights, externalData: files.includes(path + '_data') };
}

/**
 * Builds under `root` one folder per hub repo of `registry`, holding every file its entries fetch;
 * returns repo → folder (for LocalHub.addRepo). Files with the same interface are built once.
 */
export function buildHubRepos(root: string, registry: readonly RegistryModel[]): Map<string, string> {
  const built = new Map<string, string>();
  const repos = new Map<string, string>();
  for (const m of registry) {
    const dir = join(root, m.repo);
    repos.set(m.repo, dir);
    const listing = m.files.map((f) => f.path);
    for (const f of m.files) {
      const dest = join(dir, f.path);
      if (existsSync(dest)) continue;
      mkdirSync(dirname(dest), { recursive: true });
      if (!f.path.endsWith('.onnx')) {
        if (f.path.endsWith('.onnx_data')) continue; // written with its .onnx file
        const name = f.path === 'config.json' ? null : f.path;
        if (name) copyFileSync(join(EMBEDDED_MODEL_DIR, name), dest);
        else {
          const config = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
          delete config.likely;
          writeFileSync(dest, JSON.stringify(config, null, 2));
        }
        continue;
      }
      const v = hubVariant(m.repo, f.path, listing);
      const key = `${v.interface}-${v.weights}-${v.externalData ? 'ext' : 'inline'}`;
      let variantDir = built.get(key);
      if (!variantDir) {
        variantDir = buildModelFolder(join(root, '.variants', key), basename(f.path), v);
        built.set(key, variantDir);
      }
      // The external data file's name is recorded inside the .onnx file: build under the real name.
      const src = join(variantDir, 'onnx', basename(f.path));
      if (!existsSync(src)) writeGpt2Onnx(src, { shape: embeddedShape(), interface: v.interface, weights: v.weights, source: embeddedWeights(), externalData: v.externalData });
      copyFileSync(src, dest);
      if (v.externalData) copyFileSync(src + '_data', dest + '_data');
    }
  }
  return repos;
}

/** The registry as the tests serve it: same ids, repos and file lists; sizes and checksums are the tiny stand-ins'. */
export function offlineRegistry(registry: readonly RegistryModel[]): RegistryModel[] {
  return registry.map((m) => ({ ...m, files: m.files.map((f) => ({ ...f, bytes: null, sha256: null })) }));
}
