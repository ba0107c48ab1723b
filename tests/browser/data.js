// data.js — the data sets the browser tests upload, made here from fixed seeds.

const CLASSES = ['setosa', 'versicolor', 'virginica'];
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
// Per-class feature means, roughly iris's; the spread keeps the classes apart.
export const CENTRES = [[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]];

function random(seed) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** An iris-like CSV: 3 classes of perClass rows, interleaved. */
export function irisCsv(perClass = 50, seed = 3) {
  const rand = random(seed);
  const lines = [[...COLUMNS, 'species'].join(',')];
  for (let i = 0; i < perClass; i++) {
    CENTRES.forEach((centre, k) => {
      const x = centre.map((c) => (c + (rand() - 0.5) * 0.6).toFixed(2));
      lines.push([...x, CLASSES[k]].join(','));
    });
  }
  return `${lines.join('\n')}\n`;
}
