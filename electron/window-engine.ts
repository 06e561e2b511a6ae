/**
 * One window's engine: an EngineHost (models/src/engine-host.ts) running the model in its own
 * process, with its events pushed to the window and its current document remembered for export.
 * No Electron here: window.ts passes a `spawn` that forks an Electron utilityProcess, tests pass
 * none (node child_process). If the process dies, EngineHost restarts it and sends the document
 * again; the window sees `status: restarting` then `ready` and the scores stream again.
 *
 * Each window has its own engine process (the engine keeps one document and its KV cache), so
 * memory grows with the number of open windows times the model size (see README.md).
 */
import type { EngineEvents, EngineStatus, MethodName, ModelInfo, ParamsOf, ResultOf, ScoreUpdate } from '../common/api.ts';
import { renderAnnotatedHtml } from '../common/export-html.ts';
import { markdownBlocks } from '../common/markdown-blocks.ts';
import { EngineHost, type EngineHostOptions, type ModelSwitch } from '../models/src/engine-host.ts';
import { ScoreTracker } from './score-tracker.ts';

export type EngineSink = <E extends keyof EngineEvents>(event: E, data: EngineEvents[E]) => void;

export class WindowEngine {
  readonly host: EngineHost;
  readonly tracker = new ScoreTracker();
  /** The newest document the renderer sent. */
  document: { version: number; text: string } | null = null;
  private model: ModelInfo | null = null;
  private readonly offs: (() => void)[] = [];

  constructor(opts: EngineHostOptions, send: EngineSink) {
    this.host = new EngineHost(opts);
    this.offs.push(
      this.host.on('scores', (u: ScoreUpdate) => {
        this.tracker.apply(u);
        send('scores', u);
      }),
      this.host.on('status', (s: EngineStatus) => {
        if (s.model) this.model = s.model;
        send('status', s);
      }),
    );
  }

  get status(): EngineStatus {
    return this.host.status;
  }

  /** Forwards a (validated) call. `update` returns at once; its scores arrive as events. */
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (method === 'update') {
      const p = params as ParamsOf<'update'>;
      if (!this.document || p.version > this.document.version) this.document = { version: p.version, text: p.text };
    }
    return this.host.call(method, params);
  }

  /**
   * Restarts the engine with another model folder or device (the Models panel); the newest
   * document is scored again. Rejects, with the previous model running again, when it does not load.
   */
  switchModel(change: ModelSwitch): Promise<ModelInfo> {
    return this.host.switchModel(change);
  }

  /** Kills the engine process; EngineHost starts a new one and re-scores (Engine ▸ Restart). */
  restart(): void {
    this.host.kill();
  }

  /**
   * The annotated HTML of the newest document, built here from the engine's scores (used when the
   * renderer does not build it itself). Waits up to `timeoutMs` for scoring to finish.
   */
  async exportHtml(opts: { title: string; markdown: boolean; timeoutMs?: number }): Promise<string> {
    const doc = this.document;
    if (!doc) throw new Error('there is nothing to export yet: the draft has not been scored');
    const tokens = await this.tracker.waitFor(doc.version, opts.timeoutMs ?? 120_000);
    const predictions = tokens.length ? await this.host.call('predictions', { version: doc.version, from: 0, to: tokens.length, k: 5 }) : [];
    const model = this.model ?? (await this.host.call('modelInfo', {}));
    return renderAnnotatedHtml({
      text: doc.text,
      tokens,
      predictions,
      model: { name: model.name, device: model.device },
      title: opts.title,
      blocks: opts.markdown ? markdownBlocks(doc.text) : undefined,
    });
  }

  close(): void {
    for (const off of this.offs) off();
    this.host.close();
  }
}
