/** Import validation of good and broken model folders, and `ModelManager.import`. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { EMBEDDED_MODEL_DIR } from '../src/paths.ts';
import { ModelManagerError } from './errors.ts';
import { ModelManager } from './manager.ts';
import { gpt2Interface, onnxModel } from '../testing/onnx-test-models.ts';
import { validateModelFolder } from './validate.ts';
import { EMBEDDED_NAME, EMBEDDED_SHAPE } from '../testing/embedded.ts';

const root = mkdtempSync(join(tmpdir(), 'likely-validate-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A model folder with the embedded model's config and tokenizer, and the given ONNX files. */
function folder(opts: { onnx?: Record<string, Uint8Array>; config?: Record<string, unknown> | null; tokenizer?: boolean } = {}): string {
  const dir = join(root, `m${n++}`);
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  // The embedded model's config with the shape of the 4-layer test graphs (gpt2Interface(4)).
  const config = { ...(JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>), n_layer: 4, n_head: 4, n_embd: 128 };
  if (opts.config !== null) writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...opts.config }));
  if (opts.tokenizer !== false) {
    cpSync(join(EMBEDDED_MODEL_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    cpSync(join(EMBEDDED_MODEL_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  }
  for (const [name, bytes] of Object.entries(opts.onnx ?? { 'model.onnx': onnxModel(gpt2Interface(4)) })) writeFileSync(join(dir, 'onnx', name), bytes);
  return dir;
}

async function problems(dir: string): Promise<string> {
  try {
    await validateModelFolder(dir);
  } catch (e) {
    assert.ok(e instanceof ModelManagerError);
    assert.equal(e.code, 'invalid-model');
    assert.ok(!e.message.includes('\n'));
    const prefix = `${dir} is not a usable GPT-2 model: `;
    return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  }
  assert.fail(`${dir} was accepted`);
}

describe('validateModelFolder', () => {
  test("accepts the hub's interfaces: a merged decoder (use_cache_branch, no position_ids), fp16 weights with float32 or float16 caches", async () => {
    const v = await validateModelFolder(
      folder({ onnx: { 'model.onnx': onnxModel(gpt2Interface(4, { merged: true })), 'model_fp16.onnx': onnxModel(gpt2Interface(4, { merged: true })), 'model_quantized.onnx': onnxModel(gpt2Interface(4, { kvType: 10 })) } }),
    );
    assert.deepEqual(v.onnx.map((o) => o.precision), ['fp32', 'fp16', 'int8']);
  });

  test('config.json values of the wrong type are named as such', async () => {
    assert.equal(await problems(folder({ config: { vocab_size: '50257' } })), 'config.json: "vocab_size" must be a positive integer, got "50257" (a string)');
    assert.equal(await problems(folder({ config: { vocab_size: 50000 } })), "config.json: vocab_size 50000 is smaller than GPT-2's 50257 tokens");
    assert.equal(await problems(folder({ config: { n_positions: null } })), 'config.json: "n_positions" must be a positive integer, got null (a null)');
  });

  test('a model name from config.json loses terminal escapes and control characters', async () => {
    const v = await validateModelFolder(folder({ config: { likely: { name: '\x1b[2J\x1b]0;pwned\x07Nice\u202e model\x1b[31m\r\n' } } }));
    assert.equal(v.config.name, 'Nice model');
  });

  test('accepts the embedded model and a model with external data', async () => {
    const v = await validateModelFolder(EMBEDDED_MODEL_DIR);
    assert.deepEqual(v.config, { ...EMBEDDED_SHAPE, name: EMBEDDED_NAME });
    assert.deepEqual(v.onnx, [{ path: 'onnx/model.onnx', precision: 'fp32', externalData: [], bytes: statSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx')).size }]);

    const graph = onnxModel({ ...gpt2Interface(4), initializers: [{ name: 'wte', external: 'model.onnx_data' }] });
    const fp16 = onnxModel(gpt2Interface(4, { kvType: 10 }));
    const dir = folder({ onnx: { 'model.onnx': graph, 'model.onnx_data': new Uint8Array(1000), 'model_fp16.onnx': fp16 } });
    const ext = await validateModelFolder(dir);
    assert.deepEqual(
      ext.onnx.map((o) => [o.path, o.precision, o.externalData, o.bytes]),
      [
        ['onnx/model.onnx', 'fp32', ['model.onnx_data'], graph.length + 1000],
        ['onnx/model_fp16.onnx', 'fp16', [], fp16.length],
      ],
    );
  });

  test('says exactly what is wrong with each broken folder', async () => {
    assert.equal(await problems(join(root, 'nowhere')), `${join(root, 'nowhere')} does not exist`);
    assert.equal(await problems(join(EMBEDDED_MODEL_DIR, 'config.json')), `${join(EMBEDDED_MODEL_DIR, 'config.json')} is not a folder`);
    assert.equal(await problems(folder({ config: null, tokenizer: false })), 'config.json is missing; the tokenizer is missing (tokenizer.json, or vocab.json + merges.txt)');
    assert.equal(await problems(folder({ config: { model_type: 'llama' } })), 'config.json: model_type is "llama", expected "gpt2"');
    assert.equal(await problems(folder({ config: { n_layer: 0, n_head: 'four' } })), 'config.json: "n_layer" must be a positive integer, got 0; config.json: "n_head" must be a positive integer, got "four"');
    assert.equal(await problems(folder({ config: { n_embd: 130 } })), 'config.json: n_embd 130 is not a multiple of n_head 4');
    assert.equal(await problems(folder({ config: { vocab_size: 32000 } })), "config.json: vocab_size 32000 is smaller than GPT-2's 50257 tokens");

    const badJson = folder();
    writeFileSync(join(badJson, 'config.json'), '{"n_layer": 4,');
    assert.match(await problems(badJson), /^.*config\.json is not valid JSON \(/);

    const noMerges = folder({ tokenizer: false });
    cpSync(join(EMBEDDED_MODEL_DIR, 'vocab.json'), join(noMerges, 'vocab.json'));
    assert.equal(await problems(noMerges), 'merges.txt is missing (vocab.json alone is not a tokenizer)');
    const wordPiece = folder();
    writeFileSync(join(wordPiece, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }));
    assert.equal(await problems(wordPiece), 'tokenizer.json: model.type is "WordPiece"; GPT-2\'s tokenizer is "BPE"');

    assert.equal(await problems(folder({ onnx: {} })), 'no ONNX model: expected one of onnx/model.onnx, onnx/model_fp16.onnx, onnx/model_quantized.onnx, onnx/model_int8.onnx');
    const rootLayout = folder({ onnx: {} });
    writeFileSync(join(rootLayout, 'model.onnx'), onnxModel(gpt2Interface(4)));
    assert.equal(await problems(rootLayout), 'model.onnx is at the folder root; Likely expects it in onnx/ (move it, and its .onnx_data if any, to onnx/)');

    const noPast = onnxModel({ inputs: [['input_ids', 7], ['attention_mask', 7]], outputs: [['logits', 1]] });
    assert.equal(
      await problems(folder({ onnx: { 'model.onnx': noPast } })),
      'onnx/model.onnx lacks the inputs past_key_values.0.key, past_key_values.0.value, past_key_values.1.key and 5 more (export it with past key values, e.g. Optimum --task text-generation-with-past); onnx/model.onnx lacks the outputs present.0.key, present.0.value, present.1.key and 5 more',
    );
    assert.equal(
      await problems(folder({ onnx: { 'model.onnx': onnxModel(gpt2Interface(6)) } })),
      "onnx/model.onnx has inputs the engine does not feed: past_key_values.4.key, past_key_values.4.value, past_key_values.5.key, past_key_values.5.value (the graph has more layers than config.json's n_layer 4)",
    );
    assert.equal(
      await problems(folder({ onnx: { 'model.onnx': onnxModel(gpt2Interface(4, { positionIds: false, extraInputs: ['use_cache_branch'] })) } })),
      "onnx/model.onnx's use_cache_branch is not a bool",
    );
    const noLogits = gpt2Interface(4);
    noLogits.outputs = noLogits.outputs.filter(([name]) => name !== 'logits');
    assert.equal(await problems(folder({ onnx: { 'model.onnx': onnxModel(noLogits) } })), 'onnx/model.onnx lacks the outputs logits');

    const external = onnxModel({ ...gpt2Interface(4), initializers: [{ name: 'wte', external: 'model.onnx_data' }] });
    assert.equal(await problems(folder({ onnx: { 'model.onnx': external } })), 'onnx/model.onnx_data is missing (the weights of onnx/model.onnx)');
    const escaping = onnxModel({ ...gpt2Interface(4), initializers: [{ name: 'wte', external: '../../etc/passwd' }] });
    assert.equal(await problems(folder({ onnx: { 'model.onnx': escaping } })), 'onnx/model.onnx points its weights outside the folder (../../etc/passwd)');
    assert.equal(await problems(folder({ onnx: { 'model.onnx': onnxModel(gpt2Interface(4, { kvType: 7 })) } })), "onnx/model.onnx's past_key_values are of type 7, not float32 or float16");

    const model = readFileSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx'));
    assert.equal(await problems(folder({ onnx: { 'model.onnx': model.subarray(0, 5_000_000) } })), 'onnx/model.onnx is not a readable ONNX model (the file is truncated)');
    const pointer = Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:' + 'a'.repeat(64) + '\nsize 497805013\n');
    assert.equal(await problems(folder({ onnx: { 'model.onnx': pointer } })), 'onnx/model.onnx is a Git LFS pointer, not the model (fetch the real file, e.g. git lfs pull)');
  });
});

describe('ModelManager.import', () => {
  let modelsDir: string;
  beforeEach(() => {
    modelsDir = mkdtempSync(join(root, 'models-'));
  });
  const manager = () => new ModelManager({ modelsDir, registry: [], endpoint: 'http://127.0.0.1:9' });

  test('imports a folder in place; removing the entry leaves the folder alone', async () => {
    const { layers, heads, width } = EMBEDDED_SHAPE;
    const src = folder({ onnx: { 'model.onnx': readFileSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx')) }, config: { n_layer: layers, n_head: heads, n_embd: width } });
    const m = manager();
    const entry = await m.import(src, { id: 'brown' });
    assert.deepEqual(
      { id: entry.id, source: entry.source, precision: entry.precision, installed: entry.installed, path: entry.path },
      { id: 'brown', source: 'imported', precision: 'fp32', installed: true, path: src },
    );
    assert.equal(entry.name, EMBEDDED_NAME);
    assert.equal(m.resolve('brown'), src);
    await assert.rejects(m.import(src, { id: 'brown' }), (e: ModelManagerError) => e.code === 'exists');
    await assert.rejects(m.import(src, { id: 'embedded' }), (e: ModelManagerError) => e.code === 'exists');
    await m.remove('brown');
    assert.ok(existsSync(join(src, 'onnx', 'model.onnx')), 'the user folder is untouched');
    assert.throws(() => m.resolve('brown'), /no model "brown"/);
  });

  test('a moved source folder is reported when resolving', async () => {
    const src = folder();
    const m = manager();
    const entry = await m.import(src);
    assert.match(entry.id, /^local-m\d+$/);
    renameSync(src, src + '-moved');
    assert.throws(() => m.resolve(entry.id), new RegExp(`${entry.id} was imported from ${src}, which no longer exists`));
    assert.equal(m.list().find((e) => e.id === entry.id)!.installed, false);
  });

  test('--copy copies the model files into the models folder', async () => {
    const src = folder();
    writeFileSync(join(src, 'onnx', '.likely-scored-model.onnx'), 'engine cache');
    const m = manager();
    const entry = await m.import(src, { id: 'copied', copy: true });
    assert.equal(entry.path, join(modelsDir, 'copied'));
    assert.equal(m.resolve('copied'), join(modelsDir, 'copied'));
    assert.ok(readFileSync(join(modelsDir, 'copied', 'onnx', 'model.onnx')).equals(readFileSync(join(src, 'onnx', 'model.onnx'))));
    assert.equal(existsSync(join(modelsDir, 'copied', 'onnx', '.likely-scored-model.onnx')), false, 'engine caches are not copied');
    rmSync(src, { recursive: true });
    assert.equal(m.resolve('copied'), join(modelsDir, 'copied'), 'the copy does not depend on the source');
  });

  test('a broken folder is not imported', async () => {
    const m = manager();
    await assert.rejects(m.import(folder({ config: { model_type: 'bert' } })), /model_type is "bert"/);
    assert.deepEqual(
      m.list().map((e) => e.id),
      ['embedded'],
    );
  });
});
