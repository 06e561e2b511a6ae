/**
 * How the writer likes the colors shown, remembered in this browser (or the desktop app's page
 * storage): the mode, the palette, background or underline marks, the "show only p < x"
 * threshold, colors on or off. Read leniently: an unknown or broken value falls back to its default.
 */
import type { ColorMode, Palette } from '../../common/colors.ts';
import type { MarkStyle } from './scores-plugin.ts';

export interface ViewSettings {
  mode: ColorMode;
  palette: Palette;
  style: MarkStyle;
  threshold: number | null;
  coloring: boolean;
}

/** The thresholds offered (probabilities): mark only tokens less likely than this. */
export const THRESHOLDS: readonly number[] = [0.5, 0.1, 0.01, 0.001];

export const DEFAULT_VIEW: ViewSettings = { mode: 'logprob', palette: 'red-green', style: 'background', threshold: null, coloring: true };
const KEY = 'likely:view';

export function loadViewSettings(): ViewSettings {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Record<keyof ViewSettings, unknown>>;
    const pick = <K extends keyof ViewSettings>(k: K, ok: (v: unknown) => boolean): ViewSettings[K] => (ok(raw[k]) ? (raw[k] as ViewSettings[K]) : DEFAULT_VIEW[k]);
    return {
      mode: pick('mode', (v) => v === 'logprob' || v === 'rank' || v === 'entropy'),
      palette: pick('palette', (v) => v === 'red-green' || v === 'blue-orange'),
      style: pick('style', (v) => v === 'background' || v === 'underline'),
      threshold: pick('threshold', (v) => v === null || THRESHOLDS.includes(v as number)),
      coloring: pick('coloring', (v) => typeof v === 'boolean'),
    };
  } catch {
    return { ...DEFAULT_VIEW };
  }
}

export function saveViewSettings(settings: ViewSettings): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    // Not remembered; the page keeps using them.
  }
}
