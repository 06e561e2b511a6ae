/**
 * For tests: config.json values a model's graph cannot run (every loader refuses them with one
 * line naming the field), on the embedded model's config.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';

/** The embedded model's config.json with `change` applied (undefined values removed). */
export function configWith(change: Record<string, unknown>): string {
  const config = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete config[k];
    else config[k] = v;
  }
  return JSON.stringify(config).replace('"n_positions":"1e308"', '"n_positions":1e308');
}

/** Config values the graph cannot run, each refused at load with one line naming the field (n_positions 0 used to hang score on a long text; 1e308 printed onnxruntime's Gather error). */
export const BAD_CONFIGS: [Record<string, unknown>, RegExp][] = [
  [{ n_positions: 0 }, /"n_positions" must be a positive integer, got 0/],
  [{ n_positions: '1e308' }, /"n_positions" must be at most 131072, got 1e\+308/],
  [{ n_positions: 512 }, /"n_positions" is 512; the engine needs at least 768 positions/],
  [{ n_positions: 4096 }, /n_positions 4096 is more than .*model\.onnx can run \(its position table has 1024 rows\)/],
  [{ n_positions: -1 }, /"n_positions" must be a positive integer, got -1/],
  [{ n_positions: 1024.5 }, /"n_positions" must be a positive integer, got 1024\.5/],
  [{ n_positions: '1024' }, /"n_positions" must be a positive integer, got "1024" \(a string\)/],
  [{ n_positions: undefined, n_ctx: 0 }, /"n_ctx" must be a positive integer, got 0/],
  [{ n_embd: 1e9 }, /"n_embd" must be at most 65536, got 1000000000/],
  [{ n_embd: -176 }, /"n_embd" must be a positive integer, got -176/],
  [{ n_embd: 168 }, /n_embd 168 does not match .*model\.onnx, whose 8 heads are 22 wide \(n_embd 176\)/],
  [{ n_head: 4, n_embd: 176 }, /n_head 4 does not match .*model\.onnx, whose cache has 8 heads/],
  [{ n_head: 0 }, /"n_head" must be a positive integer, got 0/],
  [{ n_head: 7 }, /n_embd 176 is not a multiple of n_head 7/],
  [{ n_layer: 1e6 }, /"n_layer" must be at most 512, got 1000000/],
  [{ n_layer: null }, /"n_layer" must be a positive integer, got null/],
  [{ n_layer: 4 }, /has inputs the engine does not feed: .*more layers than config\.json's n_layer 4/],
  [{ vocab_size: 60000 }, /vocab_size 60000 does not match .*model\.onnx, whose logits have 50257 entries/],
  [{ vocab_size: 1e12 }, /"vocab_size" must be at most 4194304, got 1000000000000/],
  [{ vocab_size: 'many' }, /"vocab_size" must be a positive integer, got "many" \(a string\)/],
];

