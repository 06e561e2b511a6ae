/**
 * Keeps the newest document version's token scores from the engine's `scores` stream, the way
 * the renderer does, so the main process can export a draft (File ▸ Export) even without the
 * renderer's help. Pure (no Node, no Electron).
 */
import type { ScoreUpdate, TokenScore } from '../common/api.ts';

export class ScoreTracker {
  version = -1;
  tokenCount = 0;
  scored = 0;
  done = false;
  private tokens: TokenScore[] = [];
  private readonly waiters = new Set<() => void>();

  /** Applies one chunk; returns false for a chunk of an older version (ignored). */
  apply(u: ScoreUpdate): boolean {
    if (u.version < this.version) return false;
    if (u.version > this.version) {
      // Tokens before firstChanged kept their scores from the previous version.
      this.tokens = this.tokens.slice(0, Math.min(u.firstChanged, u.tokenCount));
      this.version = u.version;
    }
    for (let i = 0; i < u.tokens.length; i++) this.tokens[u.from + i] = u.tokens[i]!;
    if (this.tokens.length > u.tokenCount) this.tokens.length = u.tokenCount;
    this.tokenCount = u.tokenCount;
    this.scored = u.scored;
    this.done = u.done;
    for (const w of [...this.waiters]) w();
    return true;
  }

  /** The scores of `version` once every token has one, or null when another version is current. */
  complete(version: number): TokenScore[] | null {
    if (this.version !== version || !this.done) return null;
    return this.tokens.slice(0, this.tokenCount);
  }

  /** Resolves with the complete scores of `version`; rejects after `timeoutMs` or when a newer version arrives. */
  waitFor(version: number, timeoutMs: number): Promise<TokenScore[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const done = this.complete(version);
        if (done) {
          finish();
          resolve(done);
        } else if (this.version > version) {
          finish();
          reject(new Error(`version ${version} was replaced by a newer edit`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error('the engine did not finish scoring in time'));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}
