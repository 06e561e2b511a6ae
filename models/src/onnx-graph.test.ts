import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Writer } from './protobuf.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';
import { readOnnxInterface } from './onnx-file.ts';
import { OnnxFormatError } from './onnx-graph.ts';
import { gpt2Interface, graphBody, onnxModel, varint } from '../testing/onnx-test-models.ts';
import { EMBEDDED_SHAPE } from '../testing/embedded.ts';

const dir = mkdtempSync(join(tmpdir(), 'likely-onnx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('readOnnxInterface', () => {
  test('reads the embedded model: inputs, outputs and element types', async () => {
    const g = await readOnnxInterface(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx'));
    const kv = (p: string) => Array.from({ length: EMBEDDED_SHAPE.layers }, (_, i) => i).flatMap((i) => [`${p}.${i}.key`, `${p}.${i}.value`]);
    assert.deepEqual(
      g.inputs.map((i) => i.name),
      ['input_ids', 'attention_mask', 'position_ids', ...kv('past_key_values')],
    );
    assert.deepEqual(
      g.outputs.map((o) => o.name),
      ['logits', ...kv('present')],
    );
    assert.equal(g.inputs[0]!.elemType, 7, 'input_ids is int64');
    assert.equal(g.inputs[3]!.elemType, 1, 'the KV cache is float32');
    assert.deepEqual(g.opsets, { '': 17 });
    assert.deepEqual(g.externalData, []);
  });

  test('finds external data files, opsets, and drops initializers listed as inputs (IR < 4)', async () => {
    const path = write(
      'ext.onnx',
      onnxModel({
        ...gpt2Interface(2, { kvType: 10 }),
        initializers: [
          { name: 'wte', external: 'model.onnx_data' },
          { name: 'wpe', external: 'model.onnx_data' },
          { name: 'ln_f.bias', listAsInput: true },
        ],
      }),
    );
    const g = await readOnnxInterface(path);
    assert.deepEqual(g.externalData, ['model.onnx_data']);
    assert.deepEqual(g.opsets, { '': 17, 'com.microsoft': 1 });
    assert.equal(g.inputs.length, 3 + 4, 'ln_f.bias is a weight, not an input');
    assert.equal(g.inputs.find((i) => i.name === 'past_key_values.1.value')!.elemType, 10);
  });

  test('reads the interface behind a 3 GB weight without loading it', async () => {
    // A sparse file: the graph's first field is a 3 GB initializer, the inputs come after it.
    const rawLen = 3_000_000_000;
    const tensorHead = new Writer().varint(1, 4).varint(2, 1).string(8, 'huge').finish();
    const rawHead = Uint8Array.from([0x4a, ...varint(rawLen)]);
    const initLen = tensorHead.length + rawHead.length + rawLen;
    const rest = graphBody(gpt2Interface(48)).finish();
    const initField = Uint8Array.from([0x2a, ...varint(initLen)]);
    const graphLen = initField.length + initLen + rest.length;
    const head = Buffer.concat([Uint8Array.from([0x3a, ...varint(graphLen)]), initField, tensorHead, rawHead]);
    const tail = Buffer.concat([rest, new Writer().message(8, (o) => o.string(1, '').varint(2, 17)).finish()]);
    const path = join(dir, 'huge.onnx');
    const fd = openSync(path, 'w');
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, tail, 0, tail.length, head.length + rawLen);
    closeSync(fd);

    const rssBefore = process.memoryUsage().rss;
    const g = await readOnnxInterface(path);
    const grown = process.memoryUsage().rss - rssBefore;
    assert.equal(g.inputs.length, 3 + 96);
    assert.equal(g.outputs.at(-1)!.name, 'present.47.value');
    assert.deepEqual(g.opsets, { '': 17 });
    assert.ok(grown < 64e6, `memory grew by ${(grown / 1e6).toFixed(0)} MB`);
    rmSync(path);
  });

  test('a truncated model, an empty file and a text file are clear errors', async () => {
    const model = readFileSync(join(EMBEDDED_MODEL_DIR, 'onnx', 'model.onnx'));
    await assert.rejects(readOnnxInterface(write('cut.onnx', model.subarray(0, 100_000))), (e: Error) => e instanceof OnnxFormatError && e.message === 'the file is truncated');
    await assert.rejects(readOnnxInterface(write('empty.onnx', new Uint8Array())), /the file is empty/);
    await assert.rejects(readOnnxInterface(write('text.onnx', Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n'))), OnnxFormatError);
    await assert.rejects(readOnnxInterface(join(dir, 'missing.onnx')), /ENOENT/);
  });
});
