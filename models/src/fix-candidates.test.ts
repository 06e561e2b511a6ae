// The fixes of common writing errors a fill-in tries beside its beam: confused words (with the
// writer's capitalization), spellings one edit away that are words of the vocabulary, a repeated
// word removed; nothing for text that is not a word.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixCandidates, vocabularyWords } from './fix-candidates.ts';
import { loadTokenizer } from './model-folder.ts';
import { EMBEDDED_MODEL_DIR } from './paths.ts';

const isWord = vocabularyWords(await loadTokenizer(EMBEDDED_MODEL_DIR));

test('confused words, capitalized like the original', () => {
  assert.ok(fixCandidates('by', 'to ', isWord).includes('buy'));
  assert.ok(fixCandidates('of', 'could ', isWord).includes('have'));
  assert.ok(fixCandidates('Their', '', isWord).includes("They're") && fixCandidates('Their', '', isWord).includes('There'));
  assert.ok(fixCandidates('me', 'and ', isWord).includes('I'), 'I stays capital');
  assert.ok(fixCandidates('a', 'ate ', isWord).includes('an'));
});

test('spellings one edit away that are words', () => {
  for (const [wrong, right] of [['recieved', 'received'], ['definately', 'definitely'], ['seperate', 'separate'], ['untill', 'until'], ['wich', 'which'], ['wierd', 'weird']]) {
    assert.ok(fixCandidates(wrong!, 'the ', isWord).includes(right!), `${wrong} → ${right}`);
  }
  assert.ok(!fixCandidates('received', 'the ', isWord).includes('received'), 'never the word itself');
  assert.ok(fixCandidates('qzxv', '', isWord).every((w) => isWord(w.toLowerCase())), 'only words of the vocabulary');
});

test('a repeated word can go; non-words get nothing', () => {
  assert.ok(fixCandidates('the', 'The ', isWord).includes(''));
  assert.ok(!fixCandidates('the', 'a ', isWord).includes(''));
  assert.deepEqual(fixCandidates('.', 'end', isWord), []);
  assert.deepEqual(fixCandidates('42', 'page ', isWord), []);
});
