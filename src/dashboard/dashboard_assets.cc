// The dashboard's pages, served from the binary (no CDN, no files on disk): one HTML shell, its
// style sheet and its script. The script draws its plots on <canvas> by hand rather than with a
// plotting library: a few hundred lines cover lines, points and parallel coordinates, need no
// bundling step or pinned npm package in the build, and keep the binary self-contained; see
// docs/dashboard.md. Edit the page here; the literals are plain HTML, CSS and JavaScript.
#include <map>
#include <string>

#include "dashboard/dashboard_server.h"

namespace tune::dashboard {
namespace {

constexpr const char* kIndexHtml = R"asset(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tune dashboard</title>
<link rel="stylesheet" href="/app.css"></head>
<body><div id="app"></div><script src="/app.js"></script></body></html>
)asset";

constexpr const char* kAppCss = R"asset(body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; } h3 { margin: 1.2em 0 0.3em; }
table { border-collapse: collapse; } th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; }
th { cursor: pointer; background: #f4f4f4; }
.status.ERROR { color: #b00; } .status.RUNNING { color: #06c; } .error { color: #b00; white-space: pre-wrap; }
.controls { margin: 0.5em 0; display: flex; gap: 1em; align-items: center; flex-wrap: wrap; }
figure.plot { margin: 0.5em 0; } figure.plot figcaption { font-weight: bold; }
.axis-label { font-size: 12px; color: #555; } .axis-label.x { text-align: center; }
.canvas-box { width: 100%; } .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1em; }
.bar-row { display: flex; align-items: center; gap: 0.5em; } .bar-label { flex: 0 0 10em; overflow: hidden; }
.bar { display: inline-block; height: 12px; background: #1f77b4; } .note { color: #666; font-size: 12px; }
pre { background: #f7f7f7; padding: 0.5em; max-height: 24em; overflow: auto; } .legend { font-size: 12px; }
)asset";

constexpr const char* kAppJs = R"asset(// tune dashboard: the page script. No libraries: a few canvas plots drawn by hand (docs/dashboard.md says why).
"use strict";
const POLL_MS = 2000;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const params = new URLSearchParams(location.search);
const app = document.getElementById("app");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;  // CSSOM: allowed by the page's CSP, a style attribute is not
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}
async function api(path) {
  const response = await fetch("/api/" + path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}
const enc = encodeURIComponent;
function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(5);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
function tick(value) { return String(Number(value.toPrecision(4))); }
function when(seconds) { return seconds ? new Date(seconds * 1000).toLocaleString() : ""; }
function link(query, text) { return el("a", {href: "?" + new URLSearchParams(query).toString()}, text); }
function showError(error) { app.append(el("p", {class: "error"}, "Error: " + error.message)); }

// ---- plotting ----------------------------------------------------------------------------
function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const step0 = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}
function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return lo <= hi ? [lo, hi] : [0, 1];
}
function setupCanvas(canvas, height) {
  const width = canvas.parentElement.clientWidth || 600, ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio; canvas.height = height * ratio;
  canvas.style.width = width + "px"; canvas.style.height = height + "px";
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
  return [ctx, width, height];
}
// A figure: a canvas with its axis labels as DOM text (so they can be read and tested).
function figure(title, xLabel, yLabel) {
  const canvas = el("canvas");
  const fig = el("figure", {class: "plot"}, el("figcaption", {}, title), el("div", {class: "axis-label y"}, yLabel),
                 el("div", {class: "canvas-box"}, canvas), el("div", {class: "axis-label x"}, xLabel));
  fig.canvas = canvas;
  return fig;
}
// Lines (or points) of several series on shared axes. series: [{label, points: [[x, y]...], color}].
function drawLines(canvas, series, options) {
  const [ctx, width, height] = setupCanvas(canvas, options.height || 280);
  const logY = !!options.logY, pad = {l: 60, r: 12, t: 10, b: 28};
  const ty = v => (logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const xs = [], ys = [];
  for (const s of series) for (const [x, y] of s.points) { xs.push(x); ys.push(ty(y)); }
  if (options.bars) ys.push(0);  // bars stand on zero
  const [x0, x1] = extent(xs), [y0, y1] = extent(ys);
  const X = x => pad.l + (x - x0) / ((x1 - x0) || 1) * (width - pad.l - pad.r);
  const Y = y => height - pad.b - (y - y0) / ((y1 - y0) || 1) * (height - pad.t - pad.b);
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  for (const t of niceTicks(y0, y1, 5)) {
    ctx.beginPath(); ctx.moveTo(pad.l, Y(t)); ctx.lineTo(width - pad.r, Y(t)); ctx.stroke();
    ctx.fillText(logY ? "1e" + tick(t) : tick(t), 4, Y(t) + 4);
  }
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor((width - pad.l) / 90)));
  for (const t of xTicks) ctx.fillText(tick(t), X(t) - ctx.measureText(tick(t)).width / 2, height - 10);
  ctx.strokeStyle = "#333"; ctx.strokeRect(pad.l, pad.t, width - pad.l - pad.r, height - pad.t - pad.b);
  series.forEach((s, i) => {
    ctx.strokeStyle = ctx.fillStyle = s.color || COLORS[i % COLORS.length];
    ctx.lineWidth = 1.5;
    if (options.bars) {
      for (const [x, y] of s.points) ctx.fillRect(X(x) - 2, Y(y), 4, Y(y0) - Y(y));
      return;
    }
    if (options.dots) {
      for (const [x, y] of s.points) if (Number.isFinite(ty(y))) ctx.fillRect(X(x) - 2, Y(ty(y)) - 2, 4, 4);
      return;
    }
    ctx.beginPath();
    let started = false;
    for (const [x, y] of s.points) {
      const v = ty(y);
      if (!Number.isFinite(v)) continue;
      if (started) ctx.lineTo(X(x), Y(v)); else { ctx.moveTo(X(x), Y(v)); started = true; }
    }
    ctx.stroke();
  });
}
// Exponential moving average, as TensorBoard's smoothing slider.
function smooth(points, weight) {
  if (!weight) return points;
  let last = null;
  return points.map(([x, y]) => { last = last === null ? y : last * weight + (1 - weight) * y; return [x, last]; });
}
// Parallel coordinates: one vertical axis per parameter and one for the score; a line per trial,
// coloured from best (blue) to worst (red).
function drawParallel(canvas, data) {
  const [ctx, width, height] = setupCanvas(canvas, 300);
  const axes = data.params.map((p, i) => ({name: p.name, p, values: data.rows.map(r => r.values[i])}));
  axes.push({name: data.metric || "score", p: {numeric: true}, values: data.rows.map(r => r.score)});
  const pad = {l: 40, r: 40, t: 24, b: 16}, n = axes.length;
  const AX = i => pad.l + (n > 1 ? i / (n - 1) : 0.5) * (width - pad.l - pad.r);
  for (const a of axes) {
    a.range = a.p.numeric ? extent(a.values) : [0, Math.max(1, a.p.categories.length - 1)];
    a.Y = v => height - pad.b - (v - a.range[0]) / ((a.range[1] - a.range[0]) || 1) * (height - pad.t - pad.b);
  }
  const scores = data.rows.map(r => r.score), [s0, s1] = extent(scores);
  ctx.lineWidth = 1; ctx.globalAlpha = data.rows.length > 500 ? 0.25 : 0.6;
  data.rows.forEach((row, r) => {
    let q = ((row.score ?? s1) - s0) / ((s1 - s0) || 1);
    if (data.mode === "max") q = 1 - q;
    ctx.strokeStyle = `hsl(${240 * (1 - q)}, 70%, 45%)`;
    ctx.beginPath();
    axes.forEach((a, i) => { const v = a.values[r]; if (v === null) return; i ? ctx.lineTo(AX(i), a.Y(v)) : ctx.moveTo(AX(i), a.Y(v)); });
    ctx.stroke();
  });
  ctx.globalAlpha = 1; ctx.strokeStyle = "#333"; ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
  axes.forEach((a, i) => {
    ctx.beginPath(); ctx.moveTo(AX(i), pad.t); ctx.lineTo(AX(i), height - pad.b); ctx.stroke();
    ctx.fillText(a.name, AX(i) - ctx.measureText(a.name).width / 2, 12);
  });
}

// ---- pages -------------------------------------------------------------------------------
async function experimentsPage() {
  document.title = "tune dashboard";
  const body = el("tbody");
  app.append(el("h1", {}, "Experiments"), el("table", {id: "experiments"},
    el("thead", {}, el("tr", {}, ...["name", "trials", "status counts", "metric", "best", "best trial", "started", "state"].map(h => el("th", {}, h)))), body));
  async function refresh() {
    const data = await api("experiments");
    body.replaceChildren(...data.experiments.map(e => el("tr", {},
      el("td", {}, link({exp: e.name}, e.name)), el("td", {}, fmt(e.trials)),
      el("td", {}, e.error ? "unreadable: " + e.error : Object.entries(e.counts || {}).map(([k, v]) => `${v} ${k}`).join(", ")),
      el("td", {}, e.metric ? `${e.metric} (${e.mode})` : ""), el("td", {}, fmt(e.best)),
      el("td", {}, e.best_trial ? link({exp: e.name, trial: e.best_trial}, e.best_trial) : ""),
      el("td", {}, when(e.start_time)), el("td", {}, e.completed ? "finished" : "running or stopped"))));
    return data.experiments.some(e => !e.completed);
  }
  const live = await refresh();
  if (live) setInterval(() => refresh().catch(() => {}), POLL_MS * 2);
}

// The scheduler's decisions (GET /api/experiments/NAME: "scheduler"): ASHA's rungs with their
// cut-offs and the trials cut there, HyperBand's brackets, PBT's exploits (the latest 50).
function schedulerDecisions(d) {
  if (!d) return [];
  const table = (head, rows) => el("table", {class: "decisions"}, el("tr", {}, ...head.map(h => el("th", {}, h))),
    ...rows.map(r => el("tr", {}, ...r.map(c => el("td", {}, c)))));
  const ids = (list, count) => list.join(", ") + (count > list.length ? ` ... (${count})` : "");
  if (d.type === "asha") {
    return [el("h3", {}, `Scheduler: ASHA (reduction factor ${d.reduction_factor}, ${d.num_stopped ?? "?"} stopped)`),
      ...d.brackets.map((b, i) => table([`bracket ${i}: rung at`, "recorded", "cut-off", "stopped there"],
        b.rungs.map(r => [fmt(r.milestone), String(r.recorded), fmt(r.cutoff), ids(r.stopped_trials, r.stopped)])))];
  }
  if (d.type === "hyperband") {
    return [el("h3", {}, `Scheduler: HyperBand (${d.num_stopped ?? "?"} stopped)`),
      table(["band", "bracket size", "milestone", "trials", "live", "trial ids"],
        d.bands.flatMap((band, i) => band.map(b => [String(i), fmt(b.size), fmt(b.milestone), String(b.trials), String(b.live), ids(b.trial_ids, b.trials)])))];
  }
  if (d.type === "pbt") {
    return [el("h3", {}, `Scheduler: PBT (${d.recorded} exploits, the latest first)`),
      table(["trial", "copied", "from its checkpoint at", "new config"],
        d.exploits.slice(-50).reverse().map(e => [e.trial, e.source, fmt(e.source_iteration), JSON.stringify(e.config)]))];
  }
  return [];
}

// The analysis plots of an experiment's page: parallel coordinates, one score-per-parameter
// scatter per parameter, and the parameters' importance as bars.
function drawAnalysis(points, importance, parallelFig, scatterBox, importanceBox) {
  drawParallel(parallelFig.canvas, points);
  scatterBox.replaceChildren(...points.params.map(p => {
    const fig = figure("", p.name, points.metric || "score");
    fig.classList.add("small");
    return fig;
  }));
  points.params.forEach((p, i) => drawLines(scatterBox.children[i].canvas,
    [{label: p.name, points: points.rows.filter(r => r.values[i] !== null && r.score !== null).map(r => [r.values[i], r.score])}],
    {dots: true, height: 200}));
  importanceBox.replaceChildren(el("p", {class: "note"}, "correlation ratio (share of the score's variance explained by the parameter)"),
    ...importance.params.map(p => el("div", {class: "bar-row"}, el("span", {class: "bar-label"}, p.param),
      el("span", {class: "bar", style: `width:${Math.round(p.importance * 200)}px`}), " " + p.importance.toFixed(3))));
}

// The controls above the trials table: a status filter, a config filter and paging. Each
// change updates state and calls reload.
function trialControls(state, reload) {
  return el("div", {class: "controls"},
    el("label", {}, "status ", el("select", {onchange: e => { state.status = e.target.value; state.offset = 0; reload(); }},
      ...["", "PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR"].map(s => el("option", {value: s}, s || "all")))),
    el("label", {}, "config ", el("input", {placeholder: "lr>0.01; opt~/^ad/", title: "KEY=V, KEY!=V, KEY>N, N<=KEY<M, KEY~TEXT, KEY~/REGEX/; clauses joined by ;", onchange: e => { state.config = e.target.value; state.offset = 0; reload(); }})),
    el("button", {onclick: () => { state.offset = Math.max(0, state.offset - state.limit); reload(); }}, "prev"),
    el("button", {onclick: () => { state.offset += state.limit; reload(); }}, "next"), state.pager);
}

async function experimentPage(name) {
  document.title = name + " - tune dashboard";
  const summary = await api("experiments/" + enc(name));
  const state = {sort: "score", order: "", status: "", config: "", offset: 0, limit: 25, metric: summary.metric || summary.metrics[0] || "",
                 logY: false, smoothing: 0, shown: new Set(), curves: new Map(), pager: el("span")};
  const info = el("p", {id: "summary"});
  const metricSelect = el("select", {id: "metric"}, ...summary.metrics.map(m => el("option", {value: m}, m)));
  metricSelect.value = state.metric;
  const curvesFig = figure("Learning curves", "training_iteration", state.metric);
  const bestFig = figure("Best so far", "trials finished", summary.metric || "score");
  const parallelFig = figure("Parallel coordinates (blue: best)", "parameters", "value");
  const endedFig = figure("Where finished trials ended (scheduler cut-offs show as peaks)", "training_iteration", "trials");
  const scatterBox = el("div", {class: "grid", id: "scatter"});
  const importanceBox = el("div", {id: "importance"});
  const schedulerBox = el("div", {id: "scheduler"});
  const tableBody = el("tbody"), pager = state.pager;
  const headers = ["", "trial_id", "status", "score"].concat(summary.params.map(p => "config/" + p.name));
  const headRow = el("tr", {}, ...headers.map(h => el("th", {onclick: () => { if (!h) return; state.order = state.sort === h && !state.order ? "desc" : ""; state.sort = h; loadTable(); }}, h)));
  app.append(el("p", {}, link({}, "All experiments")), el("h1", {}, name), info,
    el("div", {class: "controls"},
      el("label", {}, "metric ", metricSelect),
      el("label", {}, el("input", {type: "checkbox", id: "logy", onchange: e => { state.logY = e.target.checked; drawCurves(); }}), " log scale"),
      el("label", {}, "smoothing ", el("input", {type: "range", min: 0, max: 0.99, step: 0.01, value: 0, oninput: e => { state.smoothing = +e.target.value; drawCurves(); }}))),
    curvesFig, el("div", {class: "grid"}, bestFig, endedFig, el("div", {}, el("h3", {}, "Parameter importance"), importanceBox)),
    parallelFig, el("h3", {}, "Score per parameter"), scatterBox, schedulerBox,
    el("h3", {}, "Trials"), trialControls(state, () => loadTable()),
    el("table", {id: "trials"}, el("thead", {}, headRow), tableBody));
  metricSelect.onchange = () => { state.metric = metricSelect.value; curvesFig.querySelector(".axis-label.y").textContent = state.metric; loadCurves(); };

  function showSummary(s) {
    info.textContent = `${s.trials} trials (${Object.entries(s.counts).map(([k, v]) => v + " " + k).join(", ")}); ` +
      `metric ${s.metric || "none"} (${s.mode}); best ${fmt(s.best)} by ${s.best_trial || "-"}; started ${when(s.start_time)}; ` +
      (s.completed ? "finished" : "live (updates every 2 s)");
    drawLines(bestFig.canvas, [{label: "best", points: s.best_so_far}], {height: 220});
    drawLines(endedFig.canvas, [{label: "ended", points: s.ended_at}], {height: 220, bars: true});
    schedulerBox.replaceChildren(...schedulerDecisions(s.scheduler));
  }
  async function loadTable() {
    const q = new URLSearchParams({sort: state.sort, offset: state.offset, limit: state.limit});
    if (state.order) q.set("order", state.order);
    if (state.status) q.set("status", state.status);
    for (const clause of state.config.split(";")) if (clause.trim()) q.append("config", clause.trim());
    const page = await api(`experiments/${enc(name)}/trials?${q}`);
    pager.textContent = ` ${page.total ? page.offset + 1 : 0}-${Math.min(page.total, page.offset + page.limit)} of ${page.total}`;
    tableBody.replaceChildren(...page.trials.map(t => {
      const box = el("input", {type: "checkbox", onchange: e => { e.target.checked ? state.shown.add(t.trial_id) : state.shown.delete(t.trial_id); loadCurves(); }});
      box.checked = state.shown.has(t.trial_id);
      return el("tr", {class: "trial-row", "data-trial": t.trial_id}, el("td", {}, box),
        el("td", {}, link({exp: name, trial: t.trial_id}, t.trial_id)), el("td", {class: "status " + t.status}, t.status),
        el("td", {}, fmt(t.score)), ...summary.params.map(p => el("td", {}, fmt(t.config[p.name]))));
    }));
  }
  function drawCurves() {
    const series = [...state.curves.values()].map((c, i) => ({label: c.trial_id, color: COLORS[i % COLORS.length], points: smooth(c.points, state.smoothing)}));
    drawLines(curvesFig.canvas, series, {logY: state.logY});
    let legend = curvesFig.querySelector(".legend");
    if (!legend) { legend = el("div", {class: "legend"}); curvesFig.append(legend); }
    legend.replaceChildren(...series.map(s => el("span", {style: "color:" + s.color}, "\u25A0 " + s.label + " ")));
  }
  async function loadCurves() {
    if (!state.metric) return;
    const q = new URLSearchParams({metric: state.metric, points: 300});
    if (state.shown.size) q.set("trials", [...state.shown].join(","));
    const data = await api(`experiments/${enc(name)}/curves?${q}`);
    state.curves = new Map(data.series.map(s => [s.trial_id, s]));
    drawCurves();
  }
  // Live: only the results after the ones already drawn are fetched (results?since=N).
  async function pollCurves() {
    for (const c of state.curves.values()) {
      if (c.status === "TERMINATED" || c.status === "ERROR") continue;
      const data = await api(`experiments/${enc(name)}/trials/${enc(c.trial_id)}/results?since=${c.next}`);
      data.results.forEach((r, k) => { const y = r[state.metric]; if (typeof y === "number") c.points.push([r.training_iteration ?? c.next + k + 1, y]); });
      c.next = data.next;
      if (data.finished) c.status = "TERMINATED";
    }
    drawCurves();
  }
  async function loadAnalysis() {
    const [points, importance] = await Promise.all([api(`experiments/${enc(name)}/points?limit=2000`), api(`experiments/${enc(name)}/importance`)]);
    drawAnalysis(points, importance, parallelFig, scatterBox, importanceBox);
  }
  showSummary(summary);
  await Promise.all([loadTable(), loadCurves(), loadAnalysis()]);
  document.body.setAttribute("data-ready", "1");
  if (!summary.completed) {
    const timer = setInterval(async () => {
      try {
        const s = await api("experiments/" + enc(name));
        showSummary(s);
        await Promise.all([loadTable(), pollCurves()]);
        if (s.completed) { clearInterval(timer); loadAnalysis(); }
      } catch (error) { /* the next poll retries */ }
    }, POLL_MS);
  }
}

async function trialPage(name, id) {
  document.title = id + " - tune dashboard";
  const t = await api(`experiments/${enc(name)}/trials/${enc(id)}`);
  const last = t.last_result || {};
  const fig = figure("Results", "training_iteration", t.metric || "");
  app.append(el("p", {}, link({}, "All experiments"), " / ", link({exp: name}, name)), el("h1", {}, "Trial " + t.trial_id),
    el("p", {id: "trial-status"}, `${t.name} - ${t.status} - score ${fmt(t.score)} - ${t.logdir}`),
    fig, el("h3", {}, "Config"), el("pre", {id: "config"}, JSON.stringify(t.config, null, 2)),
    el("h3", {}, "Last result"), el("table", {id: "last-result"}, ...Object.entries(last).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, fmt(v))))),
    el("h3", {}, "Checkpoints"), el("ul", {id: "checkpoints"}, ...(t.checkpoints.length ? t.checkpoints.map(c => el("li", {}, c)) : [el("li", {}, "none")])),
    ...(t.error ? [el("h3", {}, "error.txt"), el("pre", {class: "error", id: "error"}, t.error)] : []),
    el("h3", {}, "stdout (tail)"), el("pre", {id: "stdout"}, t.stdout_tail ?? "(no stdout.log)"),
    el("h3", {}, "stderr (tail)"), el("pre", {id: "stderr"}, t.stderr_tail ?? "(no stderr.log)"));
  const points = [];
  let next = 0;
  async function poll() {
    const data = await api(`experiments/${enc(name)}/trials/${enc(id)}/results?since=${next}`);
    data.results.forEach((r, k) => { const y = r[t.metric]; if (typeof y === "number") points.push([r.training_iteration ?? next + k + 1, y]); });
    next = data.next;
    drawLines(fig.canvas, [{label: id, points}], {});
    return data.finished;
  }
  const finished = await poll();
  document.body.setAttribute("data-ready", "1");
  if (!finished) { const timer = setInterval(async () => { if (await poll().catch(() => false)) clearInterval(timer); }, POLL_MS); }
}

(params.get("trial") ? trialPage(params.get("exp"), params.get("trial"))
  : params.get("exp") ? experimentPage(params.get("exp")) : experimentsPage()).catch(showError);
)asset";

}  // namespace

const char* dashboard_asset(const std::string& name) {
  static const std::map<std::string, const char*> assets = {
      {"index.html", kIndexHtml}, {"app.css", kAppCss}, {"app.js", kAppJs}};
  auto it = assets.find(name);
  return it == assets.end() ? nullptr : it->second;
}

}  // namespace tune::dashboard
