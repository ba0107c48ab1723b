// charts.js — line charts over epochs, drawn by uPlot (vendor/uplot, the
// global `uPlot` loaded before the modules).

import {num} from './format.js';

export const COLORS = ['#4f46e5', '#f59e0b', '#10b981', '#ef4444', '#0ea5e9', '#a855f7',
  '#64748b', '#ec4899', '#14b8a6', '#84cc16'];

const HEIGHT = 220;

// A log axis marks and labels the powers of ten only: 1e-8, 0.001, 1, 100.
const decade = (t) => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9;
const decadeLabel = (t) => {
  const e = Math.round(Math.log10(t));
  return e >= -3 && e <= 3 ? String(10 ** e >= 1 ? 10 ** e : Number((10 ** e).toFixed(-e)))
    : `1e${e}`;
};
const AXIS = {
  stroke: '#64748b',
  font: '11px system-ui, sans-serif',
  grid: {stroke: '#eef1f6', width: 1},
  ticks: {stroke: '#e2e8f0', width: 1, size: 4},
};

function spansDecades(series) {
  let lo = Infinity;
  let hi = 0;
  for (const s of series) {
    for (const v of s.values) {
      if (v > 0) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  return hi / lo >= 100;
}

export class Chart {
  /**
   * @param el     the element to draw in (its width is followed)
   * @param log    'auto': a log-scale y axis once the values span two decades
   *               (a loss falling from 1 to 1e-6), else linear
   * @param format how y values read on the axis and in the legend
   * @param points mark each point (series of a few epochs show at all)
   */
  constructor(el, {log = false, format = num, points = false} = {}) {
    this.el = el;
    this.autoLog = log === 'auto';
    this.log = log === true;
    this.points = points;
    this.marks = null; // x values whose points are marked on every series (setMarks)
    this.format = format;
    this.plot = null;
    this.key = '';
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({width: this.width(), height: HEIGHT});
    });
    this.resize.observe(el);
  }

  width() {
    return Math.max(200, this.el.clientWidth);
  }

  /**
   * Draw series over x; a different set of labels builds the chart anew.
   * @param x      epochs, ascending
   * @param series [{label, values (one per x, null for none), color?, dash?}]
   */
  set(x, series) {
    if (this.autoLog) this.log = spansDecades(series);
    const key = `${this.log}\n${this.marks}\n${series.map((s) => s.label).join('\n')}`;
    if (!this.plot || key !== this.key) this.build(series, key);
    const clean = (v) => (v === null || v === undefined || (this.log && v <= 0) ? null : v);
    const data = series.map((s) => s.values.map(clean));
    this.plot.setData([x, ...data]);
    // What is drawn, for tests too: how many epochs, and each series' points.
    this.el.dataset.points = String(x.length);
    this.el.dataset.log = String(this.log);
    if (this.marks) this.el.dataset.marks = JSON.stringify(this.marks);
    this.el.dataset.series = JSON.stringify(series.map((s, i) =>
      [s.label, data[i].filter((v) => v !== null).length]));
  }

  build(series, key) {
    if (this.plot) this.plot.destroy();
    this.key = key;
    const format = this.format;
    // The legend reads the point under the cursor, else the newest one.
    const latest = (u, v, si, idx) => {
      if (idx !== null && idx !== undefined) return v;
      const values = u.data[si];
      for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
      return null;
    };
    // The indices of the marked x values where the series has a point.
    const marks = this.marks && ((u, si) => {
      const idx = [];
      u.data[0].forEach((x, i) => {
        if (this.marks.includes(x) && u.data[si][i] !== null) idx.push(i);
      });
      return idx;
    });
    const opts = {
      width: this.width(),
      height: HEIGHT,
      scales: {x: {time: false}, y: this.log ? {distr: 3, log: 10} : {}},
      axes: [
        {...AXIS, values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : ''))},
        this.log
          ? {...AXIS, size: 56, filter: (u, ticks) => ticks.map((t) => (decade(t) ? t : null)),
            values: (u, ticks) => ticks.map((t) => (t === null ? '' : decadeLabel(t)))}
          : {...AXIS, size: 56, values: (u, ticks) => ticks.map((t) => format(t))},
      ],
      series: [
        {label: 'epoch', value: (u, v, si, idx) => latest(u, v, si, idx) ?? '—'},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color || COLORS[i % COLORS.length],
          width: 2,
          dash: s.dash,
          points: {show: this.points, ...(marks ? {filter: marks} : {})},
          spanGaps: true,
          value: (u, v, si, idx) => format(latest(u, v, si, idx)),
        })),
      ],
      cursor: {drag: {x: true, y: false}, points: {size: 6}},
      legend: {live: true},
    };
    this.plot = new uPlot(opts, [[], ...series.map(() => [])], this.el);
  }

  /** Mark each series' point at these x values (rung epochs), or none (null). */
  setMarks(xs) {
    this.marks = xs;
  }

  /** A log-scale y axis (true), a linear one (false), or either as the values span ('auto'). */
  setLog(log) {
    this.autoLog = log === 'auto';
    this.log = log === true;
  }

  destroy() {
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
