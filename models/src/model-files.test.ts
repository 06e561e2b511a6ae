// The browser's model loader (model-files.ts) on Node's runtime: the embedded model opened from
// its files in memory, with the scoring head appended in memory, scores exactly like the folder
// loader (model-folder.ts, the head streamed to disk), and shows the same attention (the attention
// graph patched in memory from the files read again); a missing or corrupt file is an error that
// names it, as on disk.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { Engine } from './engine.ts';
import { loadEngine } from './load-from-folder.ts';
import { openModelFiles, pickOnnxFile, type ModelFileReader } from './model-files.ts';
import { createSession } from './ort.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';
import { BAD_CONFIGS, configWith } from '../testing/bad-configs.ts';

function folderFiles(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.') && statSync(p).isFile()) files.set(relative(dir, p).split('\\').join('/'), readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

const open = (files: Map<string, Uint8Array>) => {
  const read: ModelFileReader = async (path) => files.get(path);
  return openModelFiles(read, [...files.keys()], { id: 'in-memory', source: 'embedded', createSession: (bytes, opts) => createSession(bytes, { device: 'cpu', ...opts }) });
};

const TEXT = 'The president of the United States said that the committee would meet again on Tuesday. 日本語 🍵';

test('a model opened from files in memory scores exactly like the same folder on disk', async () => {
  const fromFiles = new Engine(await open(folderFiles(EMBEDDED_MODEL_DIR)));
  const fromFolder = await loadEngine({ device: 'cpu' });
  const a = await fromFiles.score(TEXT, { topK: 5 });
  const b = await fromFolder.score(TEXT, { topK: 5 });
  assert.equal(a.model.name, b.model.name);
  assert.equal(a.model.id, 'in-memory');
  assert.deepEqual(a.tokens, b.tokens);
  assert.deepEqual(a.predictions, b.predictions);
  await fromFiles.dispose();
  await fromFolder.dispose();
});

test('the attention graph made in memory from the files, read again on the first request, equals the one written to disk', async () => {
  const files = folderFiles(EMBEDDED_MODEL_DIR);
  let reads = 0;
  const read: ModelFileReader = async (path) => {
    if (path === 'onnx/model.onnx') reads++;
    return files.get(path);
  };
  const fromFiles = new Engine(await openModelFiles(read, [...files.keys()], { id: 'in-memory', source: 'embedded', createSession: (bytes, opts) => createSession(bytes, { device: 'cpu', ...opts }) }));
  const fromFolder = await loadEngine({ device: 'cpu' });
  try {
    assert.equal(reads, 1, 'read once to load');
    const text = 'Seven purple kites drifted over the quiet harbor. Seven purple kites drifted over the quiet harbor.';
    for (const e of [fromFiles, fromFolder]) {
      e.update(1, text);
      await e.idle();
    }
    const index = fromFolder.current!.length - 2;
    const a = await fromFiles.attention({ version: 1, index, k: 1024 });
    assert.equal(reads, 2, 'read again for the attention graph, not kept in memory since loading');
    assert.deepEqual(a, await fromFolder.attention({ version: 1, index, k: 1024 }));
  } finally {
    await fromFiles.dispose();
    await fromFolder.dispose();
  }
});

test('missing and corrupt files are errors that name the file', async () => {
  const files = folderFiles(EMBEDDED_MODEL_DIR);
  const without = (path: string) => new Map([...files].filter(([p]) => p !== path));
  await assert.rejects(open(without('config.json')), /missing model file embedded\/config\.json/);
  await assert.rejects(open(without('onnx/model.onnx')), /missing model file embedded\/onnx\/model\.onnx/);
  const noTokenizer = new Map([...files].filter(([p]) => !['vocab.json', 'merges.txt', 'tokenizer.json'].includes(p)));
  await assert.rejects(open(noTokenizer), /tokenizer\.json/);
  await assert.rejects(open(new Map([...files, ['config.json', new TextEncoder().encode('{ not json')]])), /corrupt model file embedded\/config\.json/);
  await assert.rejects(open(new Map([...files, ['onnx/model.onnx', files.get('onnx/model.onnx')!.subarray(0, 100_000)]])), /corrupt model file embedded\/onnx\/model\.onnx: the file is truncated/);
});

test('the ONNX file is picked in the same order of preference as on disk', () => {
  assert.deepEqual(pickOnnxFile(['onnx/model_quantized.onnx', 'onnx/model.onnx']), { path: 'onnx/model.onnx', precision: 'fp32' });
  assert.deepEqual(pickOnnxFile(['onnx/model_quantized.onnx', 'onnx/model_fp16.onnx']), { path: 'onnx/model_fp16.onnx', precision: 'fp16' });
  assert.deepEqual(pickOnnxFile(['onnx/model.onnx'], 'int8'), null);
});

test('the in-memory loader (the static build) refuses the same config values, malformed tokenizers and oversized files, naming the file', async () => {
  const files = folderFiles(EMBEDDED_MODEL_DIR);
  const encode = (s: string) => new TextEncoder().encode(s);
  for (const [change, message] of BAD_CONFIGS) {
    await assert.rejects(open(new Map([...files, ['config.json', encode(configWith(change))]])), (e: Error) => message.test(e.message) && e.message.includes('config.json'), JSON.stringify(change));
  }
  const tj = JSON.parse(new TextDecoder().decode(files.get('tokenizer.json'))) as { model: Record<string, unknown> };
  const noVocabFiles = new Map([...files].filter(([p]) => p !== 'vocab.json' && p !== 'merges.txt'));
  await assert.rejects(open(new Map([...noVocabFiles, ['tokenizer.json', encode(JSON.stringify({ ...tj, model: { ...tj.model, merges: {} } }))]])), /^Error: embedded\/tokenizer\.json: model\.merges is an object, not a list of merges$/);
  await assert.rejects(open(new Map([...files, ['merges.txt', encode('#version: 0.2\nĠ t\nbad\n')]])), /^Error: embedded\/merges\.txt line 3: a merge is two tokens separated by one space, got "bad"$/);
  // A reader that ignores the limit is still held to it.
  await assert.rejects(open(new Map([...files, ['config.json', new Uint8Array(2 * 1024 * 1024).fill(0x20)]])), /^Error: embedded\/config\.json is 2\.0 MB; a config\.json is at most 1\.0 MB$/);
});
