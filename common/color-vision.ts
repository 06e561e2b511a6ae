/**
 * How a color looks to a reader with protanopia or deuteranopia (the two red-green color
 * blindnesses, together about 6% of men), and how far apart two colors look: the check behind the
 * blue-orange palette (colors.ts). Simulation: Machado, Oliveira & Fernandes (2009), severity 1.0,
 * applied to linear sRGB; distance: CIE76 ΔE in CIELAB (D65). Environment-neutral.
 */

export type Vision = 'normal' | 'protanopia' | 'deuteranopia';

const MACHADO: Record<Exclude<Vision, 'normal'>, number[][]> = {
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
};

/** sRGB (0–1 each) of a CSS `hsl(h s% l%)` color. */
export function hslToRgb(css: string): [number, number, number] {
  const m = /^hsl\(\s*([-\d.]+)(?:deg)?[\s,]+([\d.]+)%[\s,]+([\d.]+)%\s*\)$/.exec(css.trim());
  if (!m) throw new Error(`not an hsl() color: ${css}`);
  const h = (((Number(m[1]) % 360) + 360) % 360) / 360;
  const s = Number(m[2]) / 100;
  const l = Number(m[3]) / 100;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t: number) => {
    t = ((t % 1) + 1) % 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return s === 0 ? [l, l, l] : [channel(h + 1 / 3), channel(h), channel(h - 1 / 3)];
}

const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);

/** CIELAB (D65) of a CSS hsl() color as a reader with `vision` sees it. */
export function seenLab(css: string, vision: Vision = 'normal'): [number, number, number] {
  let rgb = hslToRgb(css).map(toLinear) as [number, number, number];
  if (vision !== 'normal') {
    const m = MACHADO[vision];
    rgb = m.map((row) => Math.min(1, Math.max(0, row[0]! * rgb[0] + row[1]! * rgb[1] + row[2]! * rgb[2]))) as [number, number, number];
  }
  const [r, g, b] = rgb;
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** CIE76 ΔE between two colors as a reader with `vision` sees them (about 2.3 is just noticeable; over 20 reads as clearly different). */
export function seenDistance(a: string, b: string, vision: Vision = 'normal'): number {
  const p = seenLab(a, vision);
  const q = seenLab(b, vision);
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}
