// Draws the app icon (build/icon.png, 1024×1024 RGBA) with no dependencies: a light rounded
// square with rows of "token" pills colored like the editor colors tokens, green (expected) to
// red (surprising). Deterministic; run `node build/make-icon.mjs` after changing it.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 1024;
const SS = 4; // supersamples per axis at edges

function hsl(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)].map((v) => Math.round(v * 255));
}

function roundedRect(x0, y0, x1, y1, r) {
  return (x, y) => {
    const cx = Math.min(Math.max(x, x0 + r), x1 - r);
    const cy = Math.min(Math.max(y, y0 + r), y1 - r);
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r && x >= x0 && x <= x1 && y >= y0 && y <= y1;
  };
}

// Shapes, back to front: [inside(x, y), [r, g, b]].
const shapes = [
  [roundedRect(64, 64, 960, 960, 190), [40, 44, 52]],
  [roundedRect(80, 80, 944, 944, 176), [252, 250, 244]],
];
// Rows of tokens: widths and hues (150 = likely/green … 0 = unlikely/red).
const rows = [
  [[150, 170], [120, 120], [150, 180], [90, 140]],
  [[140, 220], [30, 150], [150, 110], [110, 130]],
  [[150, 130], [130, 170], [0, 170], [150, 140]],
  [[100, 160], [150, 260], [60, 120]],
];
const rowHeight = 118;
const gap = 26;
let y = 225;
for (const row of rows) {
  let x = 170;
  for (const [hue, width] of row) {
    shapes.push([roundedRect(x, y, x + width, y + rowHeight - 30, 30), hsl(hue, 0.62, 0.58)]);
    x += width + gap;
  }
  y += rowHeight + 44;
}

function colorAt(x, y) {
  let c = null;
  for (const [inside, rgb] of shapes) if (inside(x, y)) c = rgb;
  return c;
}

const raw = Buffer.alloc((SIZE * 4 + 1) * SIZE);
for (let py = 0; py < SIZE; py++) {
  raw[py * (SIZE * 4 + 1)] = 0; // filter: none
  for (let px = 0; px < SIZE; px++) {
    let r = 0, g = 0, b = 0, a = 0;
    const corners = [colorAt(px, py), colorAt(px + 1, py), colorAt(px, py + 1), colorAt(px + 1, py + 1)];
    const uniform = corners.every((c) => c === corners[0]);
    const n = uniform ? 1 : SS;
    for (let sy = 0; sy < n; sy++) {
      for (let sx = 0; sx < n; sx++) {
        const c = uniform ? corners[0] : colorAt(px + (sx + 0.5) / n, py + (sy + 0.5) / n);
        if (c) {
          r += c[0];
          g += c[1];
          b += c[2];
          a += 255;
        }
      }
    }
    const o = py * (SIZE * 4 + 1) + 1 + px * 4;
    const cover = a / 255;
    raw[o] = cover ? Math.round(r / cover) : 0;
    raw[o + 1] = cover ? Math.round(g / cover) : 0;
    raw[o + 2] = cover ? Math.round(b / cover) : 0;
    raw[o + 3] = Math.round(a / (n * n));
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = new URL('./icon.png', import.meta.url);
writeFileSync(out, png);
console.log(`wrote ${out.pathname} (${png.length} bytes)`);
process.exit(0);
