/**
 * One window's engine: an EngineHost (models/src/engine-host.ts) running the model in its own
 * process, and a session for the page the window shows now (a reload starts a new one, so the
 * reloaded page counts its versions from 1 again and gets every token of its document). Its events
 * go to the window, and its newest document's scores are kept for an export built here.
 * No Electron here: window.ts passes a `spawn` that forks an Electron utilityProcess, tests pass
 * none (node child_process). If the process dies, EngineHost restarts it and sends the document
 * again; the window sees `status: restarting` then `ready` and the scores stream again.
 *
 * Each window has its own engine process (the engine keeps one document and its KV cache), so
 * memory grows with the number of open windows times the model size (see README.md).
 */
import type { EngineEvents, EngineStatus, MethodName, ModelInfo, ParamsOf, ResultOf } from '../common/api.ts';
import { renderAnnotatedHtml } from '../common/export-html.ts';
import { EngineHost, type EngineHostOptions, type EngineSession, type ModelSwitch } from '../models/src/engine-host.ts';
import { ScoreTracker } from './score-tracker.ts';

export type EngineSink = <E extends keyof EngineEvents>(event: E, data: EngineEvents[E]) => void;

export class WindowEngine {
  readonly host: EngineHost;
  private session!: EngineSession;
  /** The current page's scores (its versions), for an export built here. */
  tracker!: ScoreTracker;
  /** The newest document the page sent (its own versions). */
  document: { version: number; text: string } | null = null;
  private model: ModelInfo | null = null;
  private readonly offHost: () => void;

  constructor(
    opts: EngineHostOptions,
    private readonly send: EngineSink,
  ) {
    this.host = new EngineHost(opts);
    this.offHost = this.host.on('status', (s: EngineStatus) => {
      if (s.model) this.model = s.model;
    });
    this.newPage();
  }

  /** The window's page (re)loaded: a new session, nothing carried over from the previous page. */
  newPage(): void {
    this.session?.close();
    this.session = this.host.session();
    this.tracker = new ScoreTracker();
    this.document = null;
    const { session, tracker } = this;
    session.on('scores', (u) => {
      tracker.apply(u);
      this.send('scores', u);
    });
    session.on('status', (s) => this.send('status', s));
  }

  get status(): EngineStatus {
    return this.host.status;
  }

  /** Forwards a call of the page (checked by the session). `update` returns at once; its scores arrive as events. */
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const result = this.session.call(method, params);
    if (method === 'update') {
      const p = params as ParamsOf<'update'>;
      if (!this.document || p.version > this.document.version) this.document = { version: p.version, text: p.text };
    }
    return result;
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
   * The annotated HTML of the newest document, built here from the engine's scores (when the page
   * cannot build it: not loaded yet, or gone), as plain paragraphs. Waits up to `timeoutMs` for
   * scoring to finish.
   */
  async exportHtml(opts: { title: string; timeoutMs?: number }): Promise<string> {
    const doc = this.document;
    if (!doc) throw new Error('there is nothing to export yet: the draft has not been scored');
    const tokens = await this.tracker.waitFor(doc.version, opts.timeoutMs ?? 120_000);
    const predictions = tokens.length ? await this.session.call('predictions', { version: doc.version, from: 0, to: tokens.length, k: 5 }) : [];
    const model = this.model ?? (await this.session.call('modelInfo', {}));
    return renderAnnotatedHtml({ text: doc.text, tokens, predictions, model: { name: model.name, device: model.device }, title: opts.title });
  }

  close(): void {
    this.session.close();
    this.offHost();
    this.host.close();
  }
}
