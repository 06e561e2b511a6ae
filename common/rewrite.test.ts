import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRewrite, rewriteEdit } from './rewrite.ts';

test('a rewrite replaces its span; a deletion takes one space with it', () => {
  assert.equal(applyRewrite('to by some milk', 3, 5, 'buy'), 'to buy some milk');
  assert.equal(applyRewrite('It was a very very long day.', 14, 18, ''), 'It was a very long day.');
  assert.equal(applyRewrite('the end of of.', 11, 13, ''), 'the end of.');
  assert.equal(applyRewrite('The the cat', 0, 3, ''), 'the cat', 'at the start: the space after it goes');
  assert.equal(applyRewrite('a\nThe the cat', 2, 5, ''), 'a\nthe cat');
  assert.deepEqual(rewriteEdit('one two', 4, 7, ''), { start: 3, end: 7, insert: '' });
  assert.equal(applyRewrite('x', 0, 1, ''), '', 'nothing around it: just the word');
});
