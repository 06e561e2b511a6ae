// What the editor page exposes on window (renderer/main.ts), as far as browser tests and
// benchmarks use it inside page.evaluate.
import type { EngineClient, ModelInfo, TokenScore } from '../common/api.ts';
import type { EditorHandle } from '../renderer/lib/editor-handle.ts';

export interface PageEditorState {
  model: ModelInfo | null;
  /** Every token of the current text is scored and drawn. */
  done: boolean;
  engine: EngineClient;
  view: { state: unknown; dispatch: (tr: unknown) => void } | null;
  scores(): { version: number; fresh: number; mirror: { version: number; tokens: readonly TokenScore[]; tokenCount: number } } | null;
}

/** The browser shells' document (renderer/lib/web-document.svelte.ts), as far as tests use it. */
export interface PageWebDocument {
  ready: boolean;
  unsaved: boolean;
  fileName: string | null;
}

declare global {
  interface Window {
    likelyEditor?: EditorHandle;
    likelyEditorState?: PageEditorState;
    likelyWebDocument?: PageWebDocument;
  }
}
