import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';

/** The embedded model's config.json, so tests follow a retrained model instead of hard-coding its name and shape. */
const config = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'config.json'), 'utf8')) as {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  likely: { name: string };
};

export const EMBEDDED_NAME = config.likely.name;
export const EMBEDDED_SHAPE = { layers: config.n_layer, heads: config.n_head, width: config.n_embd, contextLength: config.n_positions, vocabSize: config.vocab_size };
