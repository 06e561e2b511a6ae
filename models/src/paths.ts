import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The model shipped with the app (trained by models/training/train.py). */
export const EMBEDDED_MODEL_DIR = process.env.LIKELY_EMBEDDED_MODEL_DIR ?? join(here, '..', 'embedded');
/** Random-weight GPT-2-shaped models for benchmarks (`npm run models:random`), never committed. */
export const RANDOM_MODELS_DIR = join(here, '..', 'random');
export const FIXTURES_DIR = join(here, '..', 'fixtures');
