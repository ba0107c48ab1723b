// pages/searches.js — every hyperparameter search: state, method, trials
// and best metric, read again when the global stream tells of a search's
// change (a `search` event; debounced, a search changes in bursts).

import {get} from '../api.js';
import {badge, card, empty, h, live, pageHeader, replace, toast} from '../dom.js';
import {follow} from '../events.js';
import {ago, num, when} from '../format.js';

const RELOAD_MS = 200;

/** "2 / 9 done" for a search's trials. */
export function trialCount(s) {
  const done = s.trials.filter((t) => t.state === 'done' || t.state === 'stopped').length;
  return `${done} / ${s.config.trials}`;
}

export function mount(main) {
  const tbody = h('tbody');
  replace(main,
    pageHeader('Searches', 'Hyperparameter searches: grid, random and ASHA, updated live.'),
    card(null, h('div', {class: 'table-wrap'}, h('table', {class: 'table', id: 'searches-table'},
      h('thead', {}, h('tr', {}, h('th', {}, 'Search'), h('th', {}, 'State'),
        h('th', {}, 'Method'), h('th', {}, 'Metric'), h('th', {}, 'Trials'),
        h('th', {class: 'num'}, 'Best'), h('th', {}, 'Best trial'), h('th', {}, 'Created'))),
      tbody))));

  function render(list) {
    if (list.length === 0) {
      replace(tbody, h('tr', {class: 'empty-row'}, h('td', {colspan: 8},
        empty('No searches yet. Create one with POST /v1/searches or trainctl searches create.'))));
      return;
    }
    replace(tbody, [...list].reverse().map((s) => h('tr', {dataset: {search: s.id, state: s.state}},
      h('td', {}, h('a', {class: 'mono strong', href: `#/searches/${s.id}`}, `#${s.id}`)),
      h('td', {}, badge(s.state)),
      h('td', {}, s.config.method),
      h('td', {}, `${s.config.metric} (${s.config.mode})`),
      h('td', {class: 'mono'}, trialCount(s)),
      h('td', {class: 'num'}, s.best ? num(s.best.metric) : '—'),
      h('td', {}, s.best ? h('a', {href: `#/jobs/${s.best.job}`}, `trial ${s.best.trial}`) : '—'),
      h('td', {class: 'muted', title: when(s.created_at)}, ago(s.created_at)))));
  }

  let timer = 0;
  const load = () => get('/v1/searches').then((r) => render(r.searches))
    .catch((err) => toast(`Cannot read the searches: ${err.message}`, 'error'));
  const later = () => {
    if (!timer) timer = setTimeout(() => {
      timer = 0;
      load();
    }, RELOAD_MS);
  };
  const stream = follow('/v1/events', {onStatus: live,
    onEvent: (type) => {
      if (type === 'search') later();
    }});
  load();
  return () => {
    stream.close();
    clearTimeout(timer);
  };
}
