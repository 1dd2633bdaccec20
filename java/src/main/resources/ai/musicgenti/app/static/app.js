'use strict';
// The app page: reads the JSON API, listens to /api/events (server-sent events) and draws with charts.js.

const $ = id => document.getElementById(id);
const state = {datasets: [], files: [], live: null, liveRun: null, genJob: null, prepareJob: null, jobs: {}};

async function api(method, path, body) {
  const r = await fetch(path, {method, headers: body ? {'Content-Type': 'application/json'} : {}, body: body ? JSON.stringify(body) : undefined});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `${r.status} ${r.statusText}`);
  return data;
}

function say(el, text, error) {
  el.textContent = text;
  el.classList.toggle('error', !!error);
}

/** The form's filled fields as numbers or strings; empty ones are left out so the server's defaults apply. */
function formValues(form) {
  const out = {};
  for (const el of form.querySelectorAll('input[name], select[name]')) {
    if (el.type === 'checkbox' || el.value === '') continue;
    out[el.name] = el.type === 'number' ? Number(el.value) : el.value;
  }
  return out;
}

const fmtSeconds = s => s === null || s === undefined ? '–' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;

// ---- status, queue -------------------------------------------------------------------------------------------

async function loadStatus() {
  const s = await api('GET', '/api/status');
  const m = s.memory;
  say($('model-info'), `model ${s.model} on ${s.device}; memory: process ${m.process_rss ? (m.process_rss / 2 ** 20).toFixed(0) + ' MiB' : '–'}, `
    + `JVM heap ${(m.jvm_used / 2 ** 20).toFixed(0)} / ${(m.jvm_max / 2 ** 20).toFixed(0)} MiB`);
  for (const j of s.jobs) state.jobs[j.id] = j;
  drawQueue();
  if (!$('model-name').value) {
    $('model-name').value = s.model;
    $('model-device').value = s.device_setting;
    $('model-dtype').value = s.dtype_setting;
  }
}

$('model-form').addEventListener('submit', async e => {
  e.preventDefault();
  try {
    const s = await api('POST', '/api/model', formValues(e.target));
    say($('model-result'), `next jobs: ${s.model} on ${s.device}`);
    await loadStatus();
  } catch (err) { say($('model-result'), err.message, true); }
});

function drawQueue() {
  const active = Object.values(state.jobs).filter(j => j.state === 'queued' || j.state === 'running').sort((a, b) => a.created - b.created);
  $('queue').replaceChildren(...(active.length ? active.map(j => h('span', {class: 'job', 'data-state': j.state},
    `${j.kind} ${j.name}: ${j.state}${j.state === 'queued' ? ' #' + j.position : ''} `,
    h('button', {type: 'button', onclick: () => api('POST', `/api/jobs/${j.id}/cancel`).catch(e => alert(e.message))}, j.kind === 'train' ? 'Stop' : 'Cancel')))
    : [h('span', {class: 'muted'}, 'no jobs running')]));
}

// ---- models & data -------------------------------------------------------------------------------------------

async function loadDatasets() {
  const d = await api('GET', '/api/datasets');
  state.datasets = d.datasets;
  const table = h('table', {}, h('thead', {}, h('tr', {}, ['dataset', 'model', 'fragment s', 'concepts (clips, train/valid fragments)'].map(t => h('th', {}, t)))),
    h('tbody', {}, d.datasets.map(ds => h('tr', {}, h('td', {}, ds.path), h('td', {}, ds.model || ''), h('td', {}, ds.fragment_seconds ?? ''),
      h('td', {}, ds.error || (ds.concepts || []).map(c => `${c.name} (${c.clips}, ${c.train}/${c.valid})`).join(', '))))));
  $('datasets').replaceChildren(d.datasets.length ? table : h('p', {class: 'muted'}, 'no prepared dataset under --data yet'));
  $('prepare-clips').replaceChildren(...d.clip_folders.map(f => h('option', {value: f}, f)));
  const sel = $('train-dataset'), keep = sel.value;
  sel.replaceChildren(...d.datasets.filter(ds => !ds.error).map(ds => h('option', {value: ds.path}, ds.path)));
  if (keep) sel.value = keep;
  drawTrainConcepts();
}

function drawTrainConcepts() {
  const ds = state.datasets.find(d => d.path === $('train-dataset').value);
  const box = $('train-concepts');
  box.replaceChildren(h('legend', {}, 'Concepts'), ...(ds ? ds.concepts.map(c =>
    h('label', {class: 'check'}, h('input', {type: 'checkbox', value: c.name, name: 'concept'}), `${c.name} (${c.train} fragments)`))
    : [h('span', {class: 'muted'}, 'choose a dataset')]));
}

$('train-dataset').addEventListener('change', drawTrainConcepts);

$('prepare-form').addEventListener('submit', async e => {
  e.preventDefault();
  try {
    const j = await api('POST', '/api/prepare', formValues(e.target));
    state.prepareJob = j.id;
    $('prepare-skipped').replaceChildren();
    say($('prepare-progress'), `prepare ${j.name}: ${j.state}`);
  } catch (err) { say($('prepare-progress'), err.message, true); }
});

// ---- train ---------------------------------------------------------------------------------------------------

$('train-form').addEventListener('submit', async e => {
  e.preventDefault();
  const body = formValues(e.target);
  body.concepts = [...$('train-concepts').querySelectorAll('input:checked')].map(c => c.value);
  try {
    const j = await api('POST', '/api/train', body);
    if (!state.jobs[j.id]) state.jobs[j.id] = j;  // the job's own events may have overtaken this answer
    drawQueue();
    await loadRuns();
    selectLive(j.name);
    if (state.jobs[j.id].state === 'queued') say($('train-status'), `run ${j.name}: queued, waiting for the device`);
  } catch (err) { say($('train-status'), err.message, true); }
});

async function selectLive(name) {
  state.live = name;
  $('live-run').value = name;
  try {
    state.liveRun = await api('GET', `/api/runs/${encodeURIComponent(name)}`);
  } catch (err) { state.liveRun = null; say($('train-status'), err.message, true); }
  drawLive();
}

function drawLive() {
  const run = state.liveRun;
  if (!run) { $('loss-chart').replaceChildren(); $('eval-charts').replaceChildren(); return; }
  $('loss-chart').replaceChildren(Charts.line(RunView.lossChart(run), {title: 'loss', xLabel: 'step', legend: true}));
  const charts = [];
  if (run.evals.length) {
    charts.push(h('h3', {}, 'FAD per concept'), Charts.line(RunView.metricSeries(run, 'fad'), {title: 'FAD', xLabel: 'epoch', legend: true}));
    const clap = RunView.metricSeries(run, 'clap_score');
    if (clap.some(s => s.points.some(p => p[1] !== null))) charts.push(h('h3', {}, 'CLAP score per concept'), Charts.line(clap, {title: 'CLAP', xLabel: 'epoch', legend: true}));
  }
  $('eval-charts').replaceChildren(...charts);
  const best = Object.entries(run.best || {});
  say($('best-epoch'), best.length ? 'Best epoch: ' + best.map(([c, b]) => `${c} ${b.epoch}`).join(', ') : '');
}

let liveDraw = 0;
function liveEvent(type, d) {
  if (d.run !== state.live) return;
  if (!state.liveRun) { if (Date.now() - liveDraw > 1000) { liveDraw = Date.now(); selectLive(d.run); } return; }
  const run = state.liveRun;
  if (type === 'step') {
    run.steps.push({step: d.step, loss: d.loss, epoch: d.epoch});
    if (run.steps.length > 1500) run.steps = run.steps.filter((_, i) => i % 2 === 0 || i === run.steps.length - 1);
    run.step_count = d.step;
    say($('train-status'), `run ${d.run}: running, epoch ${d.epoch}/${d.epochs}, step ${d.step_in_epoch}/${d.steps_in_epoch} (total ${d.step}), `
      + `loss ${Charts.fmt(d.loss)}, ${d.steps_per_second.toFixed(2)} steps/s, ${fmtSeconds(d.seconds_left)} left`);
  } else if (type === 'epoch') run.epochs.push(d);
  else if (type === 'eval') {
    run.evals.push(d);
    for (const [c, m] of Object.entries(d.concepts)) {
      if (m.fad !== undefined && m.fad !== null && (!run.best[c] || m.fad < run.best[c].fad)) run.best[c] = {fad: m.fad, epoch: d.epoch};
    }
  }
  const now = Date.now();
  if (type !== 'step' || now - liveDraw > 500) { liveDraw = now; drawLive(); }
}

$('live-run').addEventListener('change', e => selectLive(e.target.value));
$('train-stop').addEventListener('click', () => runAction('stop'));
$('train-resume').addEventListener('click', () => runAction('resume', {}));
$('train-extend').addEventListener('click', () => runAction('resume', {extend: Number($('extend-epochs').value)}));

async function runAction(action, body) {
  if (!state.live) return say($('train-status'), 'choose a run first', true);
  try {
    const j = await api('POST', `/api/runs/${encodeURIComponent(state.live)}/${action}`, body || {});
    if (!state.jobs[j.id]) state.jobs[j.id] = j;  // the job's own events may have overtaken this answer
    drawQueue();
    const now = state.jobs[j.id];
    if (['queued', 'running'].includes(now.state)) say($('train-status'), `run ${state.live}: ${action === 'stop' ? 'stopping (saves first)' : now.state}`);
  } catch (err) { say($('train-status'), err.message, true); }
}

// ---- runs ----------------------------------------------------------------------------------------------------

async function loadRuns() {
  const runs = await api('GET', '/api/runs');
  const keep = $('live-run').value;
  $('live-run').replaceChildren(...runs.map(r => h('option', {value: r.name}, r.name)));
  if (keep) $('live-run').value = keep;
  if (!state.live && runs.length) selectLive(runs[0].name);
  const table = h('table', {}, h('thead', {}, h('tr', {}, ['compare', 'run', 'concepts', 'epochs', 'steps', 'state'].map(t => h('th', {}, t)))),
    h('tbody', {}, runs.map(r => h('tr', {},
      h('td', {}, h('input', {type: 'checkbox', class: 'compare', value: r.name, 'aria-label': 'compare ' + r.name, onchange: drawCompare})),
      h('td', {}, h('button', {type: 'button', onclick: () => showRun(r.name, `/api/runs/${encodeURIComponent(r.name)}`)}, r.name)),
      h('td', {}, ((r.settings.settings || r.settings).concepts || []).join(', ')),
      h('td', {}, `${r.epochs_done}/${(r.settings.settings || r.settings).epochs ?? '?'}`), h('td', {}, r.steps),
      h('td', {}, r.job ? (state.jobs[r.job] || {}).state || 'active' : 'idle')))));
  $('runs-list').replaceChildren(runs.length ? table : h('p', {class: 'muted'}, 'no runs yet'));
}

/** The run view of the run at {@code url} (an ordinary run, or a sweep's trial); {@code focus} moves the keyboard there. */
async function showRun(name, url, focus) {
  try {
    const run = await api('GET', url);
    const el = h('div'), title = h('h3', {id: 'run-detail-h', tabindex: '-1'}, 'Run ' + name);
    $('run-detail').replaceChildren(title, el);
    if (focus) title.focus();
    RunView.render(el, run, clip => '/api/files/runs/' + clip.split('/').map(encodeURIComponent).join('/'));
  } catch (err) { $('run-detail').replaceChildren(h('p', {class: 'error'}, err.message)); }
}

async function drawCompare() {
  const names = [...document.querySelectorAll('input.compare:checked')].map(c => c.value).slice(0, 2);
  if (names.length < 2) { $('compare').replaceChildren(names.length ? h('p', {class: 'muted'}, 'tick a second run to compare') : ''); return; }
  const runs = await Promise.all(names.map(n => api('GET', `/api/runs/${encodeURIComponent(n)}`)));
  const loss = runs.flatMap((r, i) => RunView.lossChart(r, r.name + ': ').slice(0, 2).map(s => ({...s, dashed: i === 1})));
  const parts = [h('h3', {}, `${names[0]} vs ${names[1]}`), Charts.line(loss, {title: 'loss of two runs', xLabel: 'step', legend: true})];
  const fad = runs.flatMap(r => RunView.metricSeries(r, 'fad', r.name + ': '));
  if (fad.length) parts.push(Charts.line(fad, {title: 'FAD of two runs', xLabel: 'epoch', legend: true}));
  $('compare').replaceChildren(...parts);
}

// ---- sweeps ---------------------------------------------------------------------------------------------------

const fmtParam = v => Array.isArray(v) ? v.join(' ') : String(v);

async function loadSweeps() {
  const sweeps = await api('GET', '/api/sweeps');
  const table = h('table', {}, h('thead', {}, h('tr', {}, ['sweep', 'metric', 'trials', 'states'].map(t => h('th', {}, t)))),
    h('tbody', {}, sweeps.map(s => h('tr', {},
      h('td', {}, h('button', {type: 'button', onclick: () => showSweep(s.id)}, s.id)),
      h('td', {}, s.error || `${s.metric} (${s.goal})`), h('td', {}, s.trials ?? ''),
      h('td', {}, Object.entries(s.states || {}).map(([k, n]) => `${n} ${k}`).join(', '))))));
  $('sweeps-list').replaceChildren(sweeps.length ? table : h('p', {class: 'muted'}, 'no sweeps under --runs/sweeps yet'));
}

/** The leaderboard in the server's order (best first); a trial's run opens in the Runs view. */
async function showSweep(id) {
  try {
    const s = await api('GET', `/api/sweeps/${encodeURIComponent(id)}`);
    const names = s.trials.length ? Object.keys(s.trials[0].parameters) : [];
    let rank = 1;
    const table = h('table', {}, h('caption', {}, `Sweep ${s.id}: ${s.metric}, ${s.goal === 'minimize' ? 'lowest' : 'highest'} first`),
      h('thead', {}, h('tr', {}, ['#', 'trial', ...names, s.metric, 'best epoch', 'epochs', 'state'].map(t => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, s.trials.map(t => h('tr', {},
        h('td', {}, t.value === null ? '–' : String(rank++)),
        h('td', {}, t.has_run ? h('button', {type: 'button', 'aria-label': `open run ${t.run} of sweep ${s.id}`, onclick: () => {
          showRun(`${t.run} (sweep ${s.id})`, `/api/sweeps/${encodeURIComponent(s.id)}/runs/${encodeURIComponent(t.run)}`, true);
        }}, t.run) : t.run),
        ...names.map(n => h('td', {}, fmtParam(t.parameters[n]))),
        h('td', {}, t.value === null ? '–' : Charts.fmt(t.value)), h('td', {}, t.best_epoch ?? '–'), h('td', {}, t.epochs), h('td', {}, t.state)))));
    $('sweep-detail').replaceChildren(table);
  } catch (err) { $('sweep-detail').replaceChildren(h('p', {class: 'error'}, err.message)); }
}

$('sweeps-refresh').addEventListener('click', () => loadSweeps().catch(err => $('sweeps-list').replaceChildren(h('p', {class: 'error'}, err.message))));

// ---- generate ------------------------------------------------------------------------------------------------

async function loadFiles() {
  state.files = await api('GET', '/api/concepts-files');
  const checked = new Set([...$('gen-files').querySelectorAll('input:checked')].map(c => c.value));
  $('gen-files').replaceChildren(h('legend', {}, 'Concepts files ', h('button', {id: 'gen-refresh', type: 'button', onclick: loadFiles}, 'Refresh')),
    ...(state.files.length ? state.files.map(f => h('label', {class: 'check'},
      h('input', {type: 'checkbox', value: f.path, checked: checked.has(f.path), onchange: drawGenConcepts}),
      `${f.path} (${(f.concepts || []).join(', ')}; epoch ${f.epoch ?? '?'})`)) : [h('span', {class: 'muted'}, 'no concepts file under --models yet')]));
  drawGenConcepts();
}

function drawGenConcepts() {
  const chosen = [...$('gen-files').querySelectorAll('input:checked')].map(c => c.value);
  const names = [...new Set(state.files.filter(f => chosen.includes(f.path)).flatMap(f => f.concepts || []))];
  $('gen-concepts').replaceChildren(h('legend', {}, 'Concepts'), ...(names.length ? names.map(n =>
    h('label', {class: 'check'}, h('input', {type: 'checkbox', value: n, checked: true}), n)) : [h('span', {class: 'muted'}, 'tick a concepts file')]));
}

$('gen-form').addEventListener('submit', async e => {
  e.preventDefault();
  const body = formValues(e.target);
  body.concepts_files = [...$('gen-files').querySelectorAll('input:checked')].map(c => c.value);
  body.concepts = [...$('gen-concepts').querySelectorAll('input:checked')].map(c => c.value);
  if (!body.concepts.length) delete body.template;
  try {
    const j = await api('POST', '/api/generate', body);
    state.genJob = j.id;
    say($('gen-progress'), `generating: ${j.state}`);
  } catch (err) { say($('gen-progress'), err.message, true); }
});

$('gen-cancel').addEventListener('click', () => {
  if (state.genJob) api('POST', `/api/jobs/${state.genJob}/cancel`).catch(err => say($('gen-progress'), err.message, true));
});

function showResults(r) {
  $('gen-results').replaceChildren(...r.files.map(f =>
    clipPlayer(`${f.prompt} — ${f.file}`, '/api/files/runs/' + f.path.split('/').map(encodeURIComponent).join('/'))));
  say($('gen-progress'), `done: ${r.files.length} clip(s), seed ${r.seed}`);
}

// ---- events --------------------------------------------------------------------------------------------------

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('hello', e => {
    for (const j of JSON.parse(e.data).jobs) state.jobs[j.id] = j;
    drawQueue();
    say($('status'), 'connected; updates arrive live');
  });
  es.addEventListener('job', e => {
    const j = JSON.parse(e.data), before = state.jobs[j.id];
    state.jobs[j.id] = j;
    drawQueue();
    const ended = !['queued', 'running'].includes(j.state) && (!before || before.state !== j.state);
    if (j.kind === 'train' && j.name === state.live) {
      if (j.state !== 'running') say($('train-status'), `run ${j.name}: ${j.state}${j.message ? ' — ' + j.message : ''}`, j.state === 'failed');
    }
    if (ended) {
      if (j.kind === 'train') { loadRuns(); loadFiles(); if (j.name === state.live) selectLive(j.name); }
      if (j.kind === 'prepare') {
        loadDatasets();
        if (j.id === state.prepareJob) {
          say($('prepare-progress'), `prepare ${j.name}: ${j.state}${j.message ? ' — ' + j.message : ''}`, j.state === 'failed');
        }
      }
      if (j.kind === 'generate' && j.id === state.genJob) {
        if (j.state === 'done' && j.result) showResults(j.result);
        else say($('gen-progress'), `generate: ${j.state}${j.message ? ' — ' + j.message : ''}`, j.state === 'failed');
      }
    }
  });
  for (const t of ['step', 'epoch', 'eval']) es.addEventListener(t, e => liveEvent(t, JSON.parse(e.data)));
  es.addEventListener('progress', e => {
    const d = JSON.parse(e.data);
    if (d.job === state.genJob) say($('gen-progress'), `generating: step ${d.done}/${d.total}`);
    if (d.job === state.prepareJob) say($('prepare-progress'), `prepare ${d.name}: ${d.concept}, ${d.done}/${d.total} clips, ${d.new_fragments} new fragments`);
  });
  es.addEventListener('prepared', e => {
    const d = JSON.parse(e.data);
    if (d.job === state.prepareJob) $('prepare-skipped').replaceChildren(...d.skipped.map(s => h('li', {}, `skipped ${s.file}: ${s.reason}`)),
      ...d.warnings.map(w => h('li', {}, 'warning: ' + w)));
  });
  es.addEventListener('stage', e => {
    const d = JSON.parse(e.data);
    if (d.job === state.genJob) say($('gen-progress'), d.detail);
    if (d.job === state.prepareJob) say($('prepare-progress'), d.detail);
    if (d.run && d.run === state.live && d.stage === 'evaluate') say($('train-status'), `run ${d.run}: ${d.detail}`);
  });
  es.addEventListener('dropped', () => { if (state.live) selectLive(state.live); });
  es.onerror = () => say($('status'), 'disconnected; reconnecting…', true);
}

(async () => {
  try {
    await Promise.all([loadStatus(), loadDatasets(), loadRuns(), loadFiles(), loadSweeps()]);
  } catch (err) { say($('status'), err.message, true); }
  connect();
  setInterval(() => loadStatus().catch(() => {}), 10000);
})();
