/**
 * What fits in a browser tab. onnxruntime-web runs in 32-bit WebAssembly, whose memory cannot grow
 * past 4 GiB; loading holds the model's bytes in JavaScript and copies them into that memory, and
 * scoring needs working memory on top (the KV cache of 1,024 positions, activations). So a tab runs
 * a model whose files are at most 1 GB and whose estimated running memory (models/registry.json's
 * memoryBytes, the same estimate the desktop app shows) is at most 1.5 GB: GPT-2 small at any
 * precision fits; medium fp32 (1.4 GB of weights, ~2.1 GB to run) and larger do not.
 */
import { formatBytes } from '../../common/models-api.ts';

export const TAB_MAX_FILE_BYTES = 1_000_000_000;
export const TAB_MAX_MEMORY_BYTES = 1_500_000_000;

/** Why a model of these sizes does not fit in a tab, or null when it does. */
export function tooLargeForTab(fileBytes: number, memoryBytes = fileBytes * 1.5): string | null {
  if (fileBytes <= TAB_MAX_FILE_BYTES && memoryBytes <= TAB_MAX_MEMORY_BYTES) return null;
  return `too large for a browser tab: it needs about ${formatBytes(Math.max(memoryBytes, fileBytes))} of memory and a tab runs models up to ${formatBytes(TAB_MAX_MEMORY_BYTES)} (files up to ${formatBytes(TAB_MAX_FILE_BYTES)}); the desktop app runs it`;
}
