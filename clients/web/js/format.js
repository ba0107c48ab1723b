// format.js — numbers, sizes and times as the dashboard shows them.

/** A metric: 4 significant digits, exponent for very small or large values. */
export function num(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

/** A fraction as a percentage: 0.9731 → "97.3%". */
export function pct(v) {
  if (v === null || v === undefined) return '—';
  return `${(100 * v).toFixed(1)}%`;
}

/** An integer with thousands separators. */
export function int(v) {
  if (v === null || v === undefined) return '—';
  return Number(v).toLocaleString('en-US');
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** A duration in whole seconds, as the daemon's times give: "< 1 s", "42 s", "3 m 05 s". */
export function duration(s) {
  if (s === null || s === undefined || s < 0) return '—';
  if (s < 1) return '< 1 s';
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

/** Seconds between two ISO times (the second defaults to now). */
export function elapsed(from, to) {
  if (!from) return null;
  const end = to ? Date.parse(to) : Date.now();
  return Math.max(0, (end - Date.parse(from)) / 1000);
}

/** "just now", "5 min ago", "3 h ago", else the date. */
export function ago(iso) {
  if (!iso) return '—';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString('en-CA');
}

/** A time in full, for tooltips. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString('en-CA', {hour12: false}) : '';
}
