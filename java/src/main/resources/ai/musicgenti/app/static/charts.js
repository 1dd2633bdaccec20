'use strict';
// Charts and the run view, shared by the app page and the static report (musicgen-ti report), which inlines this file.

/** An element: h('div', {class: 'x', onclick: fn}, child, 'text', ...). Text is always set as text, never as HTML. */
function h(tag, attrs, ...children) {
  const svg = ['svg', 'path', 'line', 'text', 'g', 'circle', 'rect', 'title', 'polyline'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const PALETTE = ['#2b6cb0', '#c05621', '#2f855a', '#9b2c2c', '#6b46c1', '#b7791f', '#2c7a7b', '#97266d'];

const Charts = {
  /** A line chart as SVG: series = [{name, points: [[x, y], ...], dashed}]; null y values are gaps. */
  line(series, opts = {}) {
    const W = 640, H = opts.height || 240, L = 56, R = 12, T = 12, B = 36;
    const all = series.flatMap(s => s.points.filter(p => p[1] !== null && Number.isFinite(p[1])));
    const svg = h('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': opts.title || 'chart',
      'data-points': all.length});
    if (!all.length) {
      svg.append(h('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis'}, opts.empty || 'no data yet'));
      return svg;
    }
    let [x0, x1] = [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
    let [y0, y1] = [Math.min(...all.map(p => p[1])), Math.max(...all.map(p => p[1]))];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 + 1e-6; y1 += Math.abs(y1) * 0.1 + 1e-6; }
    const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    const X = x => L + (x - x0) / (x1 - x0) * (W - L - R), Y = y => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
    for (const t of Charts.ticks(y0, y1, 5)) {
      svg.append(h('line', {x1: L, x2: W - R, y1: Y(t), y2: Y(t), class: 'grid'}),
        h('text', {x: L - 6, y: Y(t) + 4, 'text-anchor': 'end', class: 'axis'}, Charts.fmt(t)));
    }
    for (const t of Charts.ticks(x0, x1, 6)) {
      svg.append(h('text', {x: X(t), y: H - B + 16, 'text-anchor': 'middle', class: 'axis'}, Charts.fmt(t)));
    }
    if (opts.xLabel) svg.append(h('text', {x: W - R, y: H - 4, 'text-anchor': 'end', class: 'axis'}, opts.xLabel));
    if (opts.yLabel) svg.append(h('text', {x: 4, y: T + 8, class: 'axis'}, opts.yLabel));
    series.forEach((s, i) => {
      const color = s.color || PALETTE[i % PALETTE.length];
      let d = '', open = false, n = 0;
      for (const [x, y] of s.points) {
        if (y === null || !Number.isFinite(y)) { open = false; continue; }
        d += (open ? 'L' : 'M') + X(x).toFixed(1) + ' ' + Y(y).toFixed(1);
        open = true; n++;
      }
      const g = h('g', {class: 'series', 'data-name': s.name, 'data-n': n});
      g.append(h('path', {d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '6 4' : null}, h('title', {}, s.name)));
      if (s.markers || n <= 30) {
        for (const [x, y] of s.points) if (y !== null && Number.isFinite(y)) {
          g.append(h('circle', {cx: X(x), cy: Y(y), r: 3, fill: color}, h('title', {}, `${s.name}: ${Charts.fmt(x)}, ${Charts.fmt(y)}`)));
        }
      }
      svg.append(g);
    });
    const wrap = h('figure', {class: 'chart-wrap'}, svg);
    if (series.length > 1 || opts.legend) {
      wrap.append(h('figcaption', {class: 'legend'}, series.map((s, i) =>
        h('span', {}, h('i', {style: `background:${s.color || PALETTE[i % PALETTE.length]}`}), s.name))));
    }
    return wrap;
  },

  ticks(a, b, n) {
    const step0 = (b - a) / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0) || step0;
    const out = [];
    for (let t = Math.ceil(a / step) * step; t <= b + 1e-12; t += step) out.push(t);
    return out;
  },

  fmt(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '–';
    const a = Math.abs(v);
    return a >= 1000 || (a > 0 && a < 0.01) ? v.toPrecision(3) : (Math.round(v * 1000) / 1000).toString();
  },

  /** Draws the WAV in buffer (PCM16 or float, any channels: the first is drawn) as min/max bars on a canvas. */
  waveform(canvas, buffer) {
    const v = new DataView(buffer);
    let pos = 12, fmt = null, data = null;
    while (pos + 8 <= v.byteLength) {
      const id = String.fromCharCode(v.getUint8(pos), v.getUint8(pos + 1), v.getUint8(pos + 2), v.getUint8(pos + 3));
      const size = v.getUint32(pos + 4, true);
      if (id === 'fmt ') fmt = {format: v.getUint16(pos + 8, true), channels: v.getUint16(pos + 10, true), bits: v.getUint16(pos + 22, true)};
      if (id === 'data') data = {offset: pos + 8, size: Math.min(size, v.byteLength - pos - 8)};
      pos += 8 + size + (size & 1);
    }
    if (!fmt || !data) return false;
    const bytes = fmt.bits / 8, frame = bytes * fmt.channels, frames = Math.floor(data.size / frame);
    const read = i => fmt.bits === 16 ? v.getInt16(data.offset + i * frame, true) / 32768 : v.getFloat32(data.offset + i * frame, true);
    const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = getComputedStyle(canvas).color || '#2b6cb0';
    for (let x = 0; x < W; x++) {
      const a = Math.floor(x * frames / W), b = Math.max(a + 1, Math.floor((x + 1) * frames / W));
      let lo = 0, hi = 0;
      for (let i = a; i < b && i < frames; i++) { const s = read(i); if (s < lo) lo = s; if (s > hi) hi = s; }
      ctx.fillRect(x, H / 2 - hi * H / 2, 1, Math.max(1, (hi - lo) * H / 2));
    }
    return true;
  },
};

/** A clip: an audio player, its waveform and a download link. src is a URL or data URI. */
function clipPlayer(label, src) {
  const canvas = h('canvas', {width: 300, height: 48, class: 'wave', 'aria-hidden': 'true'});
  fetch(src).then(r => r.arrayBuffer()).then(b => Charts.waveform(canvas, b)).catch(() => {});
  return h('div', {class: 'clip'}, h('div', {class: 'clip-label'}, label), canvas,
    h('audio', {controls: true, preload: 'metadata', src}),
    h('a', {href: src, download: label.replace(/[^A-Za-z0-9._-]+/g, '_') + (label.endsWith('.wav') ? '' : '.wav')}, 'download'));
}

const RunView = {
  /** Loss per step plus train/valid CE per epoch. */
  lossChart(run, label = '') {
    const steps = run.steps.map(s => [s.step, s.loss]);
    const series = [{name: label + 'loss (step)', points: steps}];
    if (run.epochs.length) {
      series.push({name: label + 'train CE (epoch)', points: run.epochs.map(e => [e.step, e.train_ce]), markers: true},
        {name: label + 'valid CE (epoch)', points: run.epochs.map(e => [e.step, e.valid_ce]), markers: true, dashed: true});
    }
    return series;
  },

  /** One series per concept of metric over the evaluations' epochs. */
  metricSeries(run, metric, label = '') {
    const concepts = new Set();
    for (const e of run.evals) Object.keys(e.concepts || {}).forEach(c => concepts.add(c));
    return [...concepts].map(c => ({name: label + c, markers: true,
      points: run.evals.map(e => [e.epoch, e.concepts[c] ? e.concepts[c][metric] ?? null : null])}));
  },

  render(el, run, audioSrc) {
    el.replaceChildren();
    // config.json holds the run's settings under "settings" beside its model, dataset and evaluation
    const s = Object.assign({}, run.settings || {}, (run.settings || {}).settings || {});
    delete s.settings;
    el.append(h('h3', {}, 'Settings'), h('dl', {class: 'settings'},
      Object.entries(s).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))])));
    el.append(h('h3', {}, `Loss (${run.step_count} steps, ${run.epochs.length} epochs)`),
      Charts.line(RunView.lossChart(run), {title: 'loss', xLabel: 'step', legend: true}));
    if (run.evals.length) {
      el.append(h('h3', {}, 'FAD per concept (lower is better)'), Charts.line(RunView.metricSeries(run, 'fad'), {title: 'FAD', xLabel: 'epoch', legend: true}));
      const clap = RunView.metricSeries(run, 'clap_score');
      if (clap.some(s => s.points.some(p => p[1] !== null))) {
        el.append(h('h3', {}, 'CLAP score per concept'), Charts.line(clap, {title: 'CLAP', xLabel: 'epoch', legend: true}));
      }
      el.append(h('h3', {}, 'Evaluations'), RunView.evalTable(run));
    }
    const best = Object.entries(run.best || {});
    if (best.length) {
      el.append(h('p', {class: 'best'}, 'Best epoch: ' + best.map(([c, b]) => `${c} ${b.epoch} (FAD ${Charts.fmt(b.fad)})`).join(', ')));
    }
    const clipEpochs = Object.entries(run.clips || {});
    if (clipEpochs.length) {
      el.append(h('h3', {}, 'Evaluation clips'));
      for (const [epoch, clips] of clipEpochs.reverse()) {
        const d = h('details', {open: epoch === clipEpochs[0][0]}, h('summary', {}, epoch));
        for (const c of clips) {
          const src = audioSrc(c);
          d.append(src ? clipPlayer(c.split('/').slice(-2).join('/'), src) : h('p', {class: 'muted'}, c + ' (not embedded)'));
        }
        el.append(d);
      }
    }
  },

  evalTable(run) {
    const metrics = ['fad', 'kncc', 'knco', 'clap_score'];
    const table = h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'epoch'), h('th', {}, 'concept'), metrics.map(m => h('th', {}, m)))));
    const body = h('tbody');
    for (const e of run.evals) {
      for (const [c, m] of Object.entries(e.concepts || {})) {
        body.append(h('tr', {}, h('td', {}, e.epoch), h('td', {}, c), metrics.map(k => h('td', {}, Charts.fmt(m[k] ?? null)))));
      }
    }
    table.append(body);
    return h('div', {class: 'scroll'}, table);
  },
};
