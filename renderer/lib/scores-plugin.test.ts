// The decoration plugin without a view: scores map through edits, tokens from the first edit on
// are pending, stale versions are ignored, and — under random edits with the engine skipping and
// interleaving versions like the real one — every decoration shown as fresh carries exactly the
// score its token has in the current text, and the final state shows every token once.
//
// The engine here is a model of the real engine's streaming contract (models/src/engine.ts):
// GPT-2's pre-token split, scores that depend on the whole text before each token, firstChanged =
// first differing token (capped at what the previous version had scored), chunks in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { history, undo } from 'prosemirror-history';
import { EditorState, Selection, type TextSelection, type Transaction } from 'prosemirror-state';
import type { Node as PMNode } from 'prosemirror-model';
import type { Decoration, DecorationSet } from 'prosemirror-view';
import type { ScoreUpdate, TokenScore } from '../../common/api.ts';
import { colorScale } from '../../common/colors.ts';
import { parsePlainText } from './plain-text.ts';
import { allFresh, buildDisplay, optionsTransaction, scoresKey, scoresPlugin, scoresTransaction, tokenAt, type ScoresPluginConfig, type ScoresState, type TokenSpec } from './scores-plugin.ts';
import { textToPos } from './text-map.ts';

const PRETOKEN = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Tokens of a text: GPT-2's pre-tokens; a CJK character is split into itself and an empty token at its end (like a character whose bytes span two tokens). */
function tokenize(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const m of text.matchAll(PRETOKEN)) {
    let start = m.index;
    const end = start + m[0].length;
    for (let k = start; k < end; k++) {
      if (/\p{Script=Han}/u.test(text[k]!)) {
        if (k > start) out.push({ start, end: k });
        out.push({ start: k, end: k + 1 }, { start: k + 1, end: k + 1 });
        start = k + 1;
      }
    }
    if (end > start) out.push({ start, end });
  }
  return out;
}

/** A score that depends on the token and everything before it (so a stale score is detectable). */
function scoreText(text: string): TokenScore[] {
  return tokenize(text).map(({ start, end }, i) => {
    const h = hash(text.slice(0, end) + '|' + i);
    return { id: h % 50257, text: text.slice(start, end), start, end, logprob: -((h % 1000) / 100), rank: 1 + (h % 3000), entropy: (h % 700) / 100 };
  });
}

/** The real engine's contract: versions in order, newest wins, chunks from the first changed token. */
class ModelEngine {
  private prev: { tokens: TokenScore[]; scored: number } | null = null;
  private queue: { version: number; text: string } | null = null;
  private job: { version: number; tokens: TokenScore[]; next: number; firstChanged: number; sentFirst: boolean } | null = null;
  constructor(private readonly chunk = 3) {}

  update(version: number, text: string): void {
    this.queue = { version, text };
  }

  /** Emits the next chunk, or null when idle. A queued version replaces the running one between chunks. */
  step(): ScoreUpdate | null {
    if (this.queue) {
      const { version, text } = this.queue;
      this.queue = null;
      const tokens = scoreText(text);
      let first = 0;
      if (this.prev) {
        const n = Math.min(this.prev.tokens.length, tokens.length);
        while (first < n && this.prev.tokens[first]!.id === tokens[first]!.id && this.prev.tokens[first]!.text === tokens[first]!.text) first++;
        first = Math.min(first, this.prev.scored);
      }
      this.job = { version, tokens, next: first, firstChanged: first, sentFirst: false };
      this.prev = { tokens, scored: first };
    }
    const job = this.job;
    if (!job) return null;
    let from = job.next;
    let to = from;
    if (job.sentFirst) {
      to = Math.min(job.tokens.length, from + this.chunk);
      if (to === from) {
        this.job = null;
        return null;
      }
    }
    job.sentFirst = true;
    job.next = to;
    this.prev!.scored = to;
    from = Math.min(from, to);
    return { version: job.version, tokenCount: job.tokens.length, firstChanged: job.firstChanged, from, tokens: job.tokens.slice(from, to), scored: to, done: to === job.tokens.length };
  }
}

/** The drawn decorations as comparable values: place and attributes (a widget by its key). */
function drawn(set: DecorationSet): string[] {
  return set
    .find()
    .map((d) => {
      const attrs = (d as unknown as { type: { attrs?: Record<string, string> } }).type.attrs;
      return `${d.from}-${d.to} ${attrs ? JSON.stringify(attrs) : `widget ${String(d.spec.key)}`}`;
    })
    .sort();
}

/** The display kept up to date incrementally equals one built from scratch. */
function assertDisplayRebuilds(s: ScoresState, doc: PMNode): void {
  assert.deepEqual(drawn(s.display), drawn(buildDisplay(s, doc)), 'the incrementally updated display equals a full rebuild');
}

function setup(text: string, extraPlugins = false) {
  let n = 0;
  const sent: { version: number; text: string }[] = [];
  const config: ScoresPluginConfig = { nextVersion: () => ++n };
  const plugins = [scoresPlugin(config), ...(extraPlugins ? [history()] : [])];
  let state = EditorState.create({ doc: parsePlainText(text), plugins });
  const ps = () => scoresKey.getState(state)!;
  const note = () => {
    const s = ps();
    if (!sent.length || sent[sent.length - 1]!.version !== s.version) sent.push({ version: s.version, text: s.text.text });
  };
  note();
  const apply = (tr: Transaction) => {
    state = state.apply(tr);
    note();
    assertDisplayRebuilds(ps(), state.doc);
  };
  return {
    get state() {
      return state;
    },
    ps,
    sent,
    apply,
    deliver: (up: ScoreUpdate) => apply(scoresTransaction(state, up)),
  };
}

/** Chunks of a whole version, as the engine sends them from scratch. */
function chunks(version: number, text: string, size = 4, firstChanged = 0): ScoreUpdate[] {
  const tokens = scoreText(text);
  const out: ScoreUpdate[] = [{ version, tokenCount: tokens.length, firstChanged, from: firstChanged, tokens: [], scored: firstChanged, done: firstChanged === tokens.length }];
  for (let from = firstChanged; from < tokens.length; from += size) {
    const to = Math.min(tokens.length, from + size);
    out.push({ version, tokenCount: tokens.length, firstChanged, from, tokens: tokens.slice(from, to), scored: to, done: to === tokens.length });
  }
  return out;
}

interface Shown {
  from: number;
  to: number;
  spec: TokenSpec;
  pending: boolean;
  index: string | undefined;
  style: string | undefined;
}

function shown(s: ScoresState): Shown[] {
  return s.display.find().map((d: Decoration) => {
    const spec = (d.spec.tok ?? d.spec) as TokenSpec;
    const attrs = (d as unknown as { type: { attrs?: Record<string, string> } }).type.attrs ?? {};
    const key = String(d.spec.key ?? '');
    return { from: d.from, to: d.to, spec, pending: (attrs.class ?? key).includes('pending'), index: attrs['data-i'] ?? (d.spec.key ? key.split('|')[2] : undefined), style: attrs.style ?? (d.spec.color ? `--c: ${String(d.spec.color)}` : undefined) };
  });
}

/** Every decoration shown as fresh is the current text's token at that place, with its exact score. */
function assertFreshIsRight(s: ScoresState): void {
  const truth = scoreText(s.text.text);
  for (const d of shown(s)) {
    if (d.pending) continue;
    const t = truth[d.spec.i];
    assert.ok(t, `fresh token ${d.spec.i} exists in the current text`);
    assert.deepEqual(d.spec.t, t, `fresh token ${d.spec.i} has its current score`);
    assert.equal(d.index, String(d.spec.i));
    if (d.from < d.to) {
      assert.ok(d.from >= textToPos(s.text, t.start, 1) && d.to <= textToPos(s.text, t.end, -1), `token ${d.spec.i} is placed on its text`);
    }
  }
}

/** When everything is scored: every token with text is shown, fresh, exactly once per piece. */
function assertComplete(s: ScoresState): void {
  assert.ok(allFresh(s), 'all fresh');
  const truth = scoreText(s.text.text);
  const seen = new Set<number>();
  for (const d of shown(s)) {
    assert.equal(d.pending, false);
    seen.add(d.spec.i);
  }
  const expected = truth.flatMap((t, i) => (t.text === '' ? [] : [i]));
  assert.deepEqual([...seen].sort((a, b) => a - b), expected);
  assertFreshIsRight(s);
}

test('scores arrive in chunks: decorations on their tokens, colored by colorScale, the rest pending until done', () => {
  const ed = setup('The cat sat on the mat.\n\nIt was happy there.');
  const [first, ...rest] = chunks(1, ed.ps().text.text, 4);
  ed.deliver(first!);
  assert.equal(shown(ed.ps()).length, 0);
  ed.deliver(rest[0]!);
  const part = shown(ed.ps());
  assert.deepEqual(part.map((d) => d.spec.t.text), ['The', ' cat', ' sat', ' on']);
  assert.ok(part.every((d) => !d.pending));
  for (const up of rest.slice(1)) ed.deliver(up);
  const s = ed.ps();
  assertComplete(s);
  const truth = scoreText(s.text.text);
  const scale = colorScale('logprob', truth);
  for (const d of shown(s)) assert.equal(d.style, `--c: ${scale(d.spec.t)}`);
  // "\n\n" before a word is two "\n" tokens (as in GPT-2): two markers at the end of the first paragraph.
  const nl = shown(s).filter((d) => d.spec.t.text === '\n');
  assert.equal(nl.length, 2);
  for (const d of nl) {
    assert.ok(d.spec.marker);
    assert.equal(d.from, 24);
    assert.equal(ed.state.doc.resolve(d.from).parentOffset, ed.state.doc.resolve(d.from).parent.content.size);
  }
});

test('an edit maps colors through the change and marks the touched token and everything after it pending', () => {
  const ed = setup('One two three four five six.');
  for (const up of chunks(1, ed.ps().text.text)) ed.deliver(up);
  assertComplete(ed.ps());
  const before = shown(ed.ps());
  const three = before.find((d) => d.spec.t.text === ' three')!;
  // Type "X" inside " three".
  ed.apply(ed.state.tr.insertText('X', three.from + 3));
  const s = ed.ps();
  assert.equal(s.text.text, 'One two thXree four five six.');
  assert.equal(s.version, 2);
  const after = shown(s);
  assert.equal(after.length, before.length, 'no decoration lost');
  for (const d of after) {
    const old = before.find((b) => b.spec === d.spec)!;
    const shift = d.spec.i > three.spec.i ? 1 : 0;
    assert.equal(d.from, old.from + (d.spec.i > three.spec.i ? 1 : 0), `token ${d.spec.i} mapped`);
    assert.equal(d.to, old.to + (d.spec.i >= three.spec.i ? 1 : shift));
    assert.equal(d.pending, d.spec.i >= three.spec.i, `token ${d.spec.i} pending iff at or after the edit`);
  }
  assertFreshIsRight(s);
  // Typing right after a token makes it pending too (it may merge with the new text).
  const two = after.find((d) => d.spec.t.text === ' two')!;
  ed.apply(ed.state.tr.insertText('s', two.to));
  assert.ok(shown(ed.ps()).find((d) => d.spec === two.spec)!.pending);
  assert.ok(!shown(ed.ps()).find((d) => d.spec.t.text === 'One')!.pending);
  // A change of structure alone (paragraph to heading) keeps the version and every score fresh.
  const v = ed.ps().version;
  for (const up of chunks(v, ed.ps().text.text, 4)) ed.deliver(up);
  assertComplete(ed.ps());
  ed.apply(ed.state.tr.setBlockType(1, 1, ed.state.schema.nodes.heading!, { level: 2 }));
  assert.equal(ed.ps().version, v);
  assertComplete(ed.ps());
});

test('stale versions are ignored; chunks of an older version count only before its first difference', () => {
  const ed = setup('Alpha beta gamma delta epsilon.');
  for (const up of chunks(1, ed.ps().text.text)) ed.deliver(up);
  ed.apply(ed.state.tr.insertText(' zeta', ed.state.doc.content.size - 2)); // v2: "…epsilon zeta."
  const v2 = ed.sent[1]!;
  ed.apply(ed.state.tr.insertText('!', 1)); // v3: "!Alpha…" — changes everything
  const s3 = ed.ps();
  assert.equal(s3.version, 3);
  // The engine scored v2 (it had not seen v3 yet): its tokens before " zeta" would be fresh, but the
  // text now differs from v2 at offset 0, so nothing of v2 is right for it.
  const v2chunks = chunks(2, v2.text, 4, 0);
  for (const up of v2chunks) ed.deliver(up);
  assert.equal(ed.ps().mirror.version, 2);
  assert.ok(shown(ed.ps()).every((d) => d.pending), 'v2 scores are not fresh for v3');
  assertFreshIsRight(ed.ps());
  for (const up of chunks(3, ed.ps().text.text, 4, 0)) ed.deliver(up);
  assertComplete(ed.ps());
  const snapshot = ed.ps();
  // A late chunk of v2 (stale: the mirror is at v3) changes nothing.
  ed.deliver(v2chunks[1]!);
  assert.equal(ed.ps().mirror, snapshot.mirror);
  assert.equal(ed.ps().deco, snapshot.deco);
  // A version never sent is ignored too.
  ed.deliver({ ...chunks(3, ed.ps().text.text)[1]!, version: 99 });
  assert.equal(ed.ps().mirror, snapshot.mirror);

  // An older version's scores do count where its text equals the current one.
  ed.apply(ed.state.tr.insertText(' more words', ed.state.doc.content.size - 1)); // v4
  const v4 = ed.sent[ed.sent.length - 1]!;
  ed.apply(ed.state.tr.insertText('!', ed.state.doc.content.size - 1)); // v5
  const firstChanged4 = scoreText(v4.text).findIndex((t, i) => t.id !== scoreText(snapshot.text.text)[i]?.id);
  for (const up of chunks(v4.version, v4.text, 4, firstChanged4)) ed.deliver(up);
  const s5 = ed.ps();
  assert.equal(s5.mirror.version, v4.version);
  assertFreshIsRight(s5);
  assert.ok(s5.fresh > firstChanged4, 'v4 tokens before the v5 edit became fresh');
});

test('the engine restarting (same version from token 0) and the empty document', () => {
  const ed = setup('Short text here.');
  const all = chunks(1, ed.ps().text.text);
  for (const up of all) ed.deliver(up);
  assertComplete(ed.ps());
  // The host re-sends the current version to a fresh engine: chunks restart at 0.
  ed.deliver(all[0]!);
  ed.deliver(all[1]!);
  assertFreshIsRight(ed.ps());
  for (const up of all.slice(2)) ed.deliver(up);
  assertComplete(ed.ps());
  // Delete everything: no tokens, no decorations.
  ed.apply(ed.state.tr.delete(1, ed.state.doc.content.size - 1));
  assert.equal(ed.ps().text.text, '');
  for (const up of chunks(2, '')) ed.deliver(up);
  assert.equal(shown(ed.ps()).length, 0);
  assert.ok(allFresh(ed.ps()));
});

test('a character split over tokens: the empty token is folded into its character, even across chunks', () => {
  const ed = setup('See 日本 now');
  const text = ed.ps().text.text;
  const tokens = scoreText(text);
  assert.ok(tokens.some((t) => t.text === ''));
  // Chunks of 2 split "日" from its empty continuation.
  for (const up of chunks(1, text, 2)) ed.deliver(up);
  assertComplete(ed.ps());
  const ri = tokens.findIndex((t) => t.text === '日');
  const d = shown(ed.ps()).find((x) => x.spec.i === ri)!;
  assert.deepEqual(d.spec.tail, [tokens[ri + 1]]);
  const at = tokenAt(ed.ps(), d.from)!;
  assert.equal(at.spec.i, ri);
});

test('options: mode and theme recolor, highlight marks tokens, coloring off hides all, viewport limits drawing', () => {
  const ed = setup('A few words to color in several modes.');
  for (const up of chunks(1, ed.ps().text.text)) ed.deliver(up);
  const truth = scoreText(ed.ps().text.text);
  for (const mode of ['rank', 'entropy', 'logprob'] as const) {
    for (const theme of ['dark', 'light'] as const) {
      ed.apply(optionsTransaction(ed.state, { mode, theme }));
      const scale = colorScale(mode, truth, theme);
      for (const d of shown(ed.ps())) assert.equal(d.style, `--c: ${scale(d.spec.t)}`);
    }
  }
  ed.apply(optionsTransaction(ed.state, { highlight: new Set([1, 3]) }));
  const hl = ed.ps().display.find().filter((d) => String((d as unknown as { type: { attrs: Record<string, string> } }).type.attrs.class).includes(' hl'));
  assert.deepEqual(hl.map((d) => (d.spec as TokenSpec).i), [1, 3]);
  ed.apply(optionsTransaction(ed.state, { enabled: false }));
  assert.equal(shown(ed.ps()).length, 0);
  ed.apply(optionsTransaction(ed.state, { enabled: true }));
  ed.apply(ed.state.tr.setMeta(scoresKey, { type: 'viewport', viewport: { from: 1, to: 8 } }));
  const visible = shown(ed.ps());
  assert.ok(visible.length > 0 && visible.length < truth.length);
  assert.ok(visible.every((d) => d.from <= 8));
});

test('undo restores the text; the engine rescoring it restores every color', () => {
  const ed = setup('Undo should bring back the colors.', true);
  const engine = new ModelEngine(4);
  const pump = () => {
    for (let up = engine.step(); up; up = engine.step()) ed.deliver(up);
  };
  engine.update(1, ed.ps().text.text);
  pump();
  assertComplete(ed.ps());
  const colorsBefore = shown(ed.ps()).map((d) => `${d.spec.t.text}:${d.style}`);
  ed.apply(ed.state.tr.insertText(' never', 6));
  engine.update(ed.ps().version, ed.ps().text.text);
  pump();
  assertComplete(ed.ps());
  ed.apply(undo.length ? ((): Transaction => {
    let tr: Transaction | null = null;
    undo(ed.state, (t) => (tr = t));
    return tr!;
  })() : ed.state.tr);
  assert.equal(ed.ps().text.text, 'Undo should bring back the colors.');
  engine.update(ed.ps().version, ed.ps().text.text);
  pump();
  assertComplete(ed.ps());
  assert.deepEqual(shown(ed.ps()).map((d) => `${d.spec.t.text}:${d.style}`), colorsBefore);
});

test('random edits with the engine skipping and interleaving versions: fresh is always right, the end is complete', () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const words = [' the', ' cat', 'dog', '.', ' ', '\n', ' 日本', ',', ' sat', 'é', ' on'];
  for (let round = 0; round < 12; round++) {
    const ed = setup('The first paragraph is here.\n\nA second one, with 日本 text.\n\nThird.');
    const engine = new ModelEngine(1 + rand(5));
    engine.update(ed.ps().version, ed.ps().text.text);
    for (let step = 0; step < 60; step++) {
      const action = rand(10);
      if (action < 4) {
        const size = ed.state.doc.content.size;
        const pos = 1 + rand(size - 1);
        const sel = Selection.near(ed.state.doc.resolve(pos)) as TextSelection;
        const tr = ed.state.tr.setSelection(sel);
        const w = words[rand(words.length)]!;
        if (w === '\n') tr.split(tr.selection.from);
        else if (rand(3) === 0 && sel.$from.parent.content.size > 2) tr.delete(sel.from, Math.min(sel.from + 1 + rand(3), sel.$from.end()));
        else tr.insertText(w);
        ed.apply(tr);
        if (rand(3) > 0) engine.update(ed.ps().version, ed.ps().text.text);
      } else {
        const up = engine.step();
        if (up) ed.deliver(up);
      }
      assertFreshIsRight(ed.ps());
    }
    engine.update(ed.ps().version, ed.ps().text.text);
    for (let up = engine.step(); up; up = engine.step()) {
      ed.deliver(up);
      assertFreshIsRight(ed.ps());
    }
    assertComplete(ed.ps());
  }
});

test('the scale holds while a version streams in and is recomputed when it is complete; a chunk redraws only its tokens', () => {
  const paragraphs = ['The first paragraph stays as it is.', 'The second one is edited at its end', 'The third one follows it.'];
  const ed = setup(paragraphs.join('\n\n'));
  const text1 = ed.ps().text.text;
  const all1 = chunks(1, text1, 3);
  // Before any version is complete, the scale follows the scored tokens each time they double.
  ed.deliver(all1[0]!);
  ed.deliver(all1[1]!);
  const early = ed.ps().scale;
  assert.equal(ed.ps().scaleBasis.tokens.length, 3);
  ed.deliver(all1[2]!);
  assert.notEqual(ed.ps().scale, early, 'recomputed at 6 = 2 × 3 tokens');
  const six = ed.ps().scale;
  ed.deliver(all1[3]!);
  assert.equal(ed.ps().scale, six, 'not recomputed at 9 < 2 × 6 tokens');
  assert.ok(all1.length > 5);
  for (const up of all1.slice(4)) ed.deliver(up);
  assertComplete(ed.ps());
  const scale1 = colorScale('logprob', scoreText(text1));
  for (const d of shown(ed.ps())) assert.equal(d.style, `--c: ${scale1(d.spec.t)}`);
  assert.ok(ed.ps().scaleBasis.complete);

  // Edit the end of the second paragraph: its version streams in with the first version's scale.
  const end2 = ed.state.doc.child(0).nodeSize + ed.state.doc.child(1).nodeSize - 1;
  ed.apply(ed.state.tr.insertText(' quickly', end2));
  const text2 = ed.ps().text.text;
  const truth2 = scoreText(text2);
  const firstChanged = truth2.findIndex((t, i) => t.id !== scoreText(text1)[i]?.id);
  const all2 = chunks(2, text2, 2, firstChanged);
  const firstParagraph = () => ed.ps().display.find(0, ed.state.doc.child(0).nodeSize);
  const before = firstParagraph();
  assert.ok(before.length > 5);
  for (const up of all2.slice(0, -1)) {
    ed.deliver(up);
    const s = ed.ps();
    for (const d of shown(s)) assert.equal(d.style, `--c: ${scale1(d.spec.t)}`, 'colors use the complete version\'s scale while v2 streams');
    const now = firstParagraph();
    assert.equal(now.length, before.length);
    // find() returns copies; the decoration's type (its attributes) is what the view compares.
    const type = (d: Decoration) => (d as unknown as { type: object }).type;
    now.forEach((d, k) => assert.equal(type(d), type(before[k]!), 'the first paragraph\'s decorations are untouched by chunks after it'));
  }
  ed.deliver(all2[all2.length - 1]!);
  assertComplete(ed.ps());
  const scale2 = colorScale('logprob', truth2);
  for (const d of shown(ed.ps())) assert.equal(d.style, `--c: ${scale2(d.spec.t)}`, 'recomputed when v2 is complete');
});

test('moving the viewport draws what it newly covers and drops what it left, like a full rebuild', () => {
  const text = Array.from({ length: 30 }, (_, k) => `Paragraph ${k} has a few words in it, enough to scroll.`).join('\n\n');
  const ed = setup(text);
  for (const up of chunks(1, ed.ps().text.text, 50)) ed.deliver(up);
  assertComplete(ed.ps());
  const size = ed.state.doc.content.size;
  const viewport = (from: number, to: number) => ed.apply(ed.state.tr.setMeta(scoresKey, { type: 'viewport', viewport: { from, to } }));
  let seed = 7;
  for (let k = 0; k < 40; k++) {
    seed = (seed * 48271) % 2147483647;
    const from = seed % (size - 200);
    viewport(from, from + 100 + (seed % 300));
    const s = ed.ps();
    const ds = s.display.find();
    assert.ok(ds.length > 0);
    assert.ok(ds.every((d) => d.to >= s.viewport!.from && d.from <= s.viewport!.to), 'only tokens in the viewport are drawn');
    if (k % 5 === 0) ed.apply(ed.state.tr.insertText('x', Math.min(size - 2, from + 10)));
  }
  ed.apply(ed.state.tr.setMeta(scoresKey, { type: 'viewport', viewport: null }));
  assert.ok(ed.ps().display.find().length > 100);
});
