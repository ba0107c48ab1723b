// app.js — the dashboard's entry: hash routes to pages, one page at a time.
//
// A page module exports mount(main, params, query) and returns a function
// that stops whatever the page started (event streams, timers, charts).

import {h, live, replace} from './dom.js';
import * as compare from './pages/compare.js';
import * as datasets from './pages/datasets.js';
import * as job from './pages/job.js';
import * as jobs from './pages/jobs.js';
import * as model from './pages/model.js';
import * as models from './pages/models.js';
import * as newJob from './pages/new_job.js';
import * as search from './pages/search.js';
import * as searches from './pages/searches.js';

const ROUTES = [
  {path: /^\/jobs$/, page: jobs, section: 'jobs'},
  {path: /^\/jobs\/new$/, page: newJob, section: 'jobs'},
  {path: /^\/jobs\/(\d+)$/, page: job, section: 'jobs'},
  {path: /^\/models$/, page: models, section: 'models'},
  {path: /^\/models\/(\d+)$/, page: model, section: 'models'},
  {path: /^\/datasets$/, page: datasets, section: 'datasets'},
  {path: /^\/searches$/, page: searches, section: 'searches'},
  {path: /^\/searches\/(\d+)$/, page: search, section: 'searches'},
  {path: /^\/compare$/, page: compare, section: 'jobs'},
];

let stop = null;

function show() {
  const [path, search] = (location.hash.slice(1) || '/jobs').split('?');
  const query = new URLSearchParams(search || '');
  const main = document.getElementById('main');
  if (stop) stop();
  stop = null;
  live('idle');
  replace(main);
  let section = '';
  let found = false;
  for (const route of ROUTES) {
    const m = path.match(route.path);
    if (!m) continue;
    found = true;
    section = route.section;
    stop = route.page.mount(main, m.slice(1), query) || null;
    break;
  }
  if (!found) {
    replace(main, h('div', {class: 'empty'},
      h('p', {}, 'There is no page here.'),
      h('a', {class: 'button', href: '#/jobs'}, 'Go to jobs')));
  }
  for (const a of document.querySelectorAll('.nav a')) {
    a.classList.toggle('active', a.dataset.section === section);
  }
  document.title = `traind · ${section || 'not found'}`;
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', show);
show();
