/**
 * models/registry.json: the GPT-2 ONNX models the manager can download (format in README.md),
 * and where the hub is (HF_ENDPOINT, as the huggingface_hub libraries read it).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistryModel } from '../../common/models-api.ts';

export type { RegistryFile, RegistryModel } from '../../common/models-api.ts';

export const REGISTRY_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'registry.json');
export const DEFAULT_ENDPOINT = 'https://huggingface.co';

const SIZES = ['small', 'medium', 'large', 'xl'];
const PRECISIONS = ['fp32', 'fp16', 'int8'];

/** Parses and checks a registry; every malformed entry is reported with its index. */
export function parseRegistry(json: unknown, source = 'registry'): RegistryModel[] {
  const models = (json as { models?: unknown })?.models;
  if (!Array.isArray(models)) throw new Error(`${source}: "models" must be an array`);
  const ids = new Set<string>();
  return models.map((m: Partial<RegistryModel>, i) => {
    const where = `${source}: models[${i}]${m?.id ? ` (${m.id})` : ''}`;
    const bad = (what: string) => new Error(`${where}: ${what}`);
    if (typeof m?.id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(m.id)) throw bad('"id" must be lower-case letters, digits, ".", "_" or "-"');
    if (ids.has(m.id)) throw bad('duplicate id');
    ids.add(m.id);
    if (typeof m.name !== 'string') throw bad('"name" must be a string');
    if (!SIZES.includes(m.size as string)) throw bad(`"size" must be one of ${SIZES.join(', ')}`);
    if (!PRECISIONS.includes(m.precision as string)) throw bad(`"precision" must be one of ${PRECISIONS.join(', ')}`);
    if (typeof m.repo !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(m.repo)) throw bad('"repo" must be "owner/name"');
    if (typeof m.revision !== 'string' || !m.revision) throw bad('"revision" must be a branch, tag or commit');
    if (!Number.isFinite(m.memoryBytes) || (m.memoryBytes as number) <= 0) throw bad('"memoryBytes" must be a positive number');
    if (!Array.isArray(m.files) || m.files.length === 0) throw bad('"files" must be a non-empty array');
    for (const f of m.files) {
      if (typeof f?.path !== 'string' || f.path.startsWith('/') || f.path.split('/').some((part) => part === '..' || part === '')) throw bad(`bad file path ${JSON.stringify(f?.path)}`);
      if (f.bytes !== null && !(Number.isInteger(f.bytes) && f.bytes >= 0)) throw bad(`${f.path}: "bytes" must be an integer or null`);
      if (!Number.isFinite(f.approxBytes)) throw bad(`${f.path}: "approxBytes" must be a number`);
      if (f.sha256 !== null && !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`${f.path}: "sha256" must be 64 lower-case hex digits or null`);
    }
    if (!m.files.some((f) => f.path === 'config.json')) throw bad('files must include config.json');
    if (!m.files.some((f) => f.path.startsWith('onnx/') && f.path.endsWith('.onnx'))) throw bad('files must include an onnx/*.onnx model');
    return m as RegistryModel;
  });
}

export function loadRegistry(path = REGISTRY_PATH): RegistryModel[] {
  return parseRegistry(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** The hub's base URL: HF_ENDPOINT when set (mirrors, tests), else huggingface.co. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** `${endpoint}/${repo}/resolve/${revision}/${path}`, the hub's download URL. */
export function resolveUrl(endpoint: string, repo: string, revision: string, path: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}
