// bars.js — a small bar chart on a canvas: a column's histogram or its most
// frequent categories on the datasets page. uPlot draws the curves; a
// thumbnail of at most twenty bars needs no more than fillRect.

const WIDTH = 160;
const HEIGHT = 36;

/**
 * @param counts one bar height each
 * @param labels what each bar counts ("Biscoe", "3400 – 3740")
 * @param opts   {color, width, height (CSS pixels)}
 * @return a canvas; data-bars the number of bars and data-counts their
 *         counts (for tests), the labels and counts as its title and
 *         accessible name
 */
export function bars(counts, labels, {color = '#4f46e5', width = WIDTH, height = HEIGHT} = {}) {
  const canvas = document.createElement('canvas');
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  Object.assign(canvas.style, {width: `${width}px`, height: `${height}px`});
  canvas.className = 'bars';
  canvas.dataset.bars = String(counts.length);
  canvas.dataset.counts = JSON.stringify(counts);
  const text = counts.map((c, i) => `${labels[i]}: ${c}`);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', text.join(', '));
  canvas.title = text.join('\n');
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  ctx.fillStyle = '#eef1f6';
  ctx.fillRect(0, height - 1, width, 1);
  ctx.fillStyle = color;
  const max = Math.max(1, ...counts);
  const slot = width / Math.max(1, counts.length);
  const gap = slot > 4 ? 1 : 0;
  counts.forEach((c, i) => {
    // a bar of one count still shows: at least a pixel high
    const bar = c === 0 ? 0 : Math.max(1, (c / max) * height);
    ctx.fillRect(i * slot, height - bar, slot - gap, bar);
  });
  return canvas;
}

/**
 * Counts of values in n equal-width bins from lo to hi, hi in the last one,
 * as the daemon counts a column's histogram (halved differences, so hi - lo
 * stays finite).
 */
export function binCounts(values, n, lo, hi) {
  const counts = new Array(n).fill(0);
  const span = hi / 2 - lo / 2;
  for (const v of values) {
    const at = span > 0 ? ((v / 2 - lo / 2) / span) * n : 0;
    counts[Math.min(n - 1, Math.max(0, Math.floor(at)))]++;
  }
  return counts;
}

/** The labels of n equal-width bins from lo to hi, each value through fmt. */
export function binLabels(n, lo, hi, fmt) {
  const width = (hi - lo) / n;
  return Array.from({length: n}, (_, k) =>
    n === 1 ? fmt(lo) : `${fmt(lo + k * width)} – ${fmt(k === n - 1 ? hi : lo + (k + 1) * width)}`);
}
