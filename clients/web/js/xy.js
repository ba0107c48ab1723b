// xy.js — curves and scatters whose series each have their own x (ROC and
// precision-recall curves, actual against predicted), drawn by uPlot's
// mode 2. charts.js is the other kind: series over shared epochs.

import {COLORS} from './charts.js';
import {num} from './format.js';

const HEIGHT = 260;
const AXIS = {
  stroke: '#64748b',
  font: '11px system-ui, sans-serif',
  grid: {stroke: '#eef1f6', width: 1},
  ticks: {stroke: '#e2e8f0', width: 1, size: 4},
};

/**
 * Draw series in el, sized to its width (followed while it lives).
 * @param series [{label, x, y, points (a scatter: dots, no line), color?, dash?}]
 * @param opts   {x: axis label, y: axis label, range: [lo, hi] of both axes or null}
 * @return {destroy()}; el's data-series holds [label, points] of each series
 */
export function xyChart(el, series, {x, y, range = null}) {
  const width = () => Math.max(200, el.clientWidth);
  const scale = range ? {time: false, auto: false, range} : {time: false};
  const opts = {
    mode: 2,
    width: width(),
    height: HEIGHT,
    scales: {x: scale, y: {...scale}},
    axes: [{...AXIS, label: x, values: (u, ticks) => ticks.map((t) => num(t, 3))},
      {...AXIS, label: y, size: 56, values: (u, ticks) => ticks.map((t) => num(t, 3))}],
    legend: {live: false},
    cursor: {drag: {x: false, y: false}},
    // a scatter's dots are its path (uPlot's points builder), a curve's its line
    series: [{}, ...series.map((s, i) => ({
      label: s.label,
      stroke: s.color || COLORS[i % COLORS.length],
      fill: s.points ? s.color || COLORS[i % COLORS.length] : undefined,
      width: s.points ? 1 : 2,
      dash: s.dash,
      paths: s.points ? uPlot.paths.points() : uPlot.paths.linear(),
      points: {show: false, size: 5},
    }))],
  };
  const plot = new uPlot(opts, [null, ...series.map((s) => [s.x, s.y])], el);
  el.dataset.series = JSON.stringify(series.map((s) => [s.label, s.x.length]));
  const resize = new ResizeObserver(() => plot.setSize({width: width(), height: HEIGHT}));
  resize.observe(el);
  return {
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
