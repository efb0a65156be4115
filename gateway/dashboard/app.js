// Gateway activity dashboard. No dependencies; every datum comes from /v1/activity*.
// The master key (when the gateway has one) is kept in sessionStorage and sent as a
// Bearer token. Data is always inserted as text, never as HTML. Costs are USD decimal strings
// (null when unpriced). Auto-refresh runs every REFRESH_SECONDS, or every `?refresh=N` seconds.
"use strict";

(() => {
  const KEY_STORAGE = "gateway.masterKey";
  const PAGE_SIZE = 50;
  const BUCKETS = { 900: 30, 3600: 60, 86400: 900, 604800: 7200 };
  const SVG_NS = "http://www.w3.org/2000/svg";
  const DASH = "\u2014";
  const REFRESH_SECONDS = 10;
  const REFRESH_STORAGE = "gateway.autoRefresh";
  const state = { cursor: null, nextCursor: null, page: 1, filters: {}, detail: null, lastRow: null, seq: 0,
    refreshTimer: null };
  const $ = (id) => document.getElementById(id);

  class AuthError extends Error {}

  // ---- API ---------------------------------------------------------------
  async function api(path, params = {}) {
    const url = new URL(path, document.baseURI);
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
    }
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.Authorization = "Bearer " + key;
    const response = await fetch(url, { headers, cache: "no-store" });
    if (response.status === 401) throw new AuthError("The gateway asks for its master key.");
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && body.error && body.error.message) || "HTTP " + response.status);
    return body;
  }

  // ---- Formatting ------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  function fmtDate(iso, withDate = true) {
    if (!iso) return DASH;
    const d = new Date(iso);
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return withDate ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return DASH;
    if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
    return (ms < 10 && !Number.isInteger(ms) ? ms.toFixed(1) : Math.round(ms)) + " ms";
  }
  const tickMs = (ms) => (ms >= 1000 ? `${+(ms / 1000).toFixed(2)} s` : `${+ms.toFixed(1)} ms`);
  const fmtInt = (n) => (n === null || n === undefined ? DASH : Number(n).toLocaleString("en-US"));
  const metric = (rec, name) => ((rec.metrics || []).find((m) => m.name === name) || {}).value ?? null;
  const source = (rec) => (rec.metadata && (rec.metadata.source || rec.metadata.user_agent)) || DASH;
  const model = (rec) => rec.model_requested || rec.model_answered || DASH;
  const tokens = (rec) => `${fmtInt(rec.input_tokens)} / ${fmtInt(rec.output_tokens)}`;
  const cost = (rec) => rec.cost ?? metric(rec, "COST");
  const streamed = (rec) => (typeof rec.stream === "boolean" ? (rec.stream ? "yes" : "no") : DASH);

  const usd = {};
  function money(digits) {
    usd[digits] ??= new Intl.NumberFormat("en-US",
      { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: digits });
    return usd[digits];
  }
  // A USD amount (decimal string) as money: cents from $1 up, three significant digits below
  // (at most 12 decimals, trailing zeros trimmed to 2), "$0.00" for zero, DASH when unpriced.
  function fmtMoney(value) {
    if (value === null || value === undefined || value === "") return DASH;
    const amount = Number(value);
    if (!Number.isFinite(amount)) return DASH;
    const size = Math.abs(amount);
    const digits = size >= 1 || size === 0 ? 2 : Math.min(12, 2 - Math.floor(Math.log10(size)));
    return money(digits).format(amount);
  }
  const exactMoney = (value) => (value === null || value === undefined ? "Not priced" : `${value} USD`);
  function moneyNode(value) {
    return el("span", { class: "money", title: exactMoney(value) }, fmtMoney(value));
  }
  function errorText(rec) {
    if (!rec.error_message) return rec.error_type || "";
    return rec.error_type ? `${rec.error_type}: ${rec.error_message}` : rec.error_message;
  }

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function statusPill(status) {
    return el("span", { class: "pill status-" + String(status).toLowerCase() }, status);
  }
  function createdCell(iso) {
    const text = fmtDate(iso);
    const [date, time] = text.split(" ");
    if (!time) return text;
    const node = el("time", { datetime: iso, title: text });
    node.append(el("span", {}, date), " ", el("span", {}, time));
    return node;
  }
  function finishReason(rec) { return (rec.metadata || {}).finish_reason || null; }
  function statusCell(rec) {
    const parts = document.createDocumentFragment();
    parts.append(statusPill(rec.status));
    const finish = finishReason(rec);
    if (finish) parts.append(el("span", { class: "finish", title: "finish reason" }, finish));
    const error = errorText(rec);
    if (error) parts.append(el("span", { class: "row-error", title: error }, rec.error_message || rec.error_type));
    return parts;
  }
  function setBusy(name, busy) { document.body.dataset[name] = busy ? "loading" : "ready"; }
  function say(message) { $("status-line").textContent = message; }

  // ---- Requests table ----------------------------------------------------------
  function readFilters() {
    const form = new FormData($("filters"));
    const filters = {};
    for (const [name, raw] of form.entries()) {
      const value = String(raw).trim();
      if (!value) continue;
      filters[name] = name === "since" || name === "until" ? new Date(value).toISOString() : value;
    }
    return filters;
  }

  async function loadPage() {
    setBusy("table", true);
    const seq = ++state.seq;
    try {
      const params = { ...state.filters, limit: PAGE_SIZE, cursor: state.cursor };
      const page = await api("v1/activity", params);
      if (seq !== state.seq) return;  // a newer page request is under way
      state.nextCursor = page.next_cursor;
      renderRows(page.data);
      $("next").disabled = !page.next_cursor;
      $("newest").disabled = state.cursor === null;
      $("page-label").textContent = `Page ${state.page}`;
      say("");
      $("updated").textContent = "Updated " + fmtDate(new Date().toISOString(), false);
    } finally {
      if (seq === state.seq) setBusy("table", false);
    }
  }

  function renderRows(records) {
    const body = $("requests").tBodies[0];
    const focused = body.contains(document.activeElement) ? document.activeElement.dataset.id : undefined;
    body.replaceChildren(...records.map(rowFor));
    $("empty").hidden = records.length > 0;
    const again = focused && [...body.rows].find((row) => row.dataset.id === focused);
    if (again) again.focus();
  }

  function rowFor(rec) {
    const row = el("tr", { tabindex: "0", "data-id": rec.id });
    const cells = [
      [source(rec)], [rec.provider || DASH], [model(rec)], [rec.endpoint || DASH], [streamed(rec)],
      [createdCell(rec.created_at), "created"], [statusCell(rec), "status"],
      [fmtMs(rec.time_taken_ms), "num"], [fmtMs(rec.first_token_ms), "num"], [tokens(rec), "num"],
      [moneyNode(cost(rec)), "num"], [rec.key_id || DASH], [String(rec.http_status), "num"],
    ];
    for (const [value, cls] of cells) {
      const cell = el("td", cls ? { class: cls } : {});
      if (value instanceof Node) cell.append(value); else { cell.textContent = value; cell.title = value; }
      row.append(cell);
    }
    const action = el("td");
    action.append(el("button", { type: "button", class: "link", tabindex: "-1" }, "Details"));
    row.append(action);
    row.addEventListener("click", () => openDetail(rec.id, row));
    row.addEventListener("keydown", (event) => onRowKey(event, row, rec.id));
    return row;
  }

  function onRowKey(event, row, id) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openDetail(id, row);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next) next.focus();
    }
  }

  // ---- Detail dialog -----------------------------------------------------------
  async function openDetail(id, row) {
    state.lastRow = row;
    setBusy("detail", true);
    const dialog = $("detail");
    $("detail-title").textContent = "Request " + id;
    $("panel").replaceChildren(el("p", { class: "muted" }, "Loading\u2026"));
    if (!dialog.open) dialog.showModal();
    try {
      state.detail = await api("v1/activity/" + encodeURIComponent(id));
      $("detail-title").textContent = "Request " + state.detail.request_id;
      showTab("metadata");
    } catch (error) {
      $("panel").replaceChildren(el("p", { class: "error" }, error.message));
    } finally {
      setBusy("detail", false);
    }
  }

  function showTab(name) {
    for (const tab of document.querySelectorAll("#detail-tabs [role=tab]")) {
      const selected = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) $("panel").setAttribute("aria-labelledby", tab.id);
    }
    $("panel").replaceChildren(...TABS[name](state.detail));
  }

  function definitions(pairs) {
    const list = el("dl", { class: "pairs" });
    for (const [term, value] of pairs) list.append(el("dt", {}, term), el("dd", {}, value ?? DASH));
    return list;
  }

  function metadataTab(rec) {
    const main = definitions([
      ["Request id", rec.request_id], ["Record id", rec.id], ["Status", rec.status],
      ["Finish reason", finishReason(rec)],
      ["HTTP status", String(rec.http_status)], ["Endpoint", rec.endpoint], ["Provider", rec.provider],
      ["Model requested", rec.model_requested], ["Model answered", rec.model_answered],
      ["Stream", rec.stream ? "yes" : "no"], ["Created", fmtDate(rec.created_at)],
      ["Time taken", fmtMs(rec.time_taken_ms)], ["Time to first token", fmtMs(rec.first_token_ms)],
      ["Tokens in / out / total", `${tokens(rec)} / ${fmtInt(rec.total_tokens)}`],
      ["Cost", fmtMoney(cost(rec))],
      ["Input / output cost", `${fmtMoney(rec.input_cost)} / ${fmtMoney(rec.output_cost)}`], ["Key", rec.key_id],
      ["Error type", rec.error_type], ["Error message", rec.error_message],
    ]);
    const extra = Object.entries(rec.metadata || {}).filter(([k]) => k !== "finish_reason").map(([k, v]) => [k.replaceAll("_", " "), asText(v)]);
    const nodes = [main, el("h3", {}, "Additional data")];
    nodes.push(extra.length ? definitions(extra) : el("p", { class: "muted" }, "None."));
    return nodes;
  }

  const asText = (value) => (typeof value === "string" ? value : JSON.stringify(value));

  function bodyTab(field, what) {
    return (rec) => {
      if (!(field in rec) || rec[field] === null) {
        return [el("p", { class: "muted note" },
          `Body capture is off: the ${what} body was not stored for this request.`)];
      }
      const body = rec[field];
      return [el("pre", { class: "json" }, typeof body === "string" ? body : JSON.stringify(body, null, 2))];
    };
  }

  function table(headers, rows, empty, numeric = []) {
    if (!rows.length) return [el("p", { class: "muted" }, empty)];
    const cls = (i) => (numeric.includes(i) ? { class: "num" } : {});
    const tableEl = el("table", { class: "compact" });
    const head = tableEl.createTHead().insertRow();
    headers.forEach((h, i) => head.append(el("th", { scope: "col", ...cls(i) }, h)));
    const body = tableEl.createTBody();
    for (const values of rows) {
      const tr = body.insertRow();
      values.forEach((v, i) => {
        const td = el("td", cls(i));
        if (v instanceof Node) td.append(v); else td.textContent = v ?? DASH;
        tr.append(td);
      });
    }
    return [tableEl];
  }

  const TABS = {
    metadata: metadataTab,
    request: bodyTab("request_body", "request"),
    response: bodyTab("response_body", "response"),
    metrics: (rec) => table(["Name", "Value", "Description"],
      (rec.metrics || []).map((m) => [m.name, m.value, m.description]), "No metrics recorded."),
    attempts: (rec) => table(["#", "Provider", "Model", "Status", "HTTP", "Error", "Time"],
      (rec.attempts || []).map((a) => [String(a.attempt), a.provider, a.model, a.status,
        a.http_status === null ? null : String(a.http_status),
        a.error_message ? `${a.error_type || "error"}: ${a.error_message}` : null, fmtMs(a.time_taken_ms)]),
      "No upstream attempts recorded for this request."),
  };

  function onTabKey(event) {
    const tabs = [...document.querySelectorAll("#detail-tabs [role=tab]")];
    const index = tabs.indexOf(document.activeElement);
    if (index < 0 || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) return;
    const next = tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    showTab(next.dataset.tab);
  }

  // ---- Charts (inline SVG) ---------------------------------------------------------
  const W = 520, H = 190, M = { left: 52, right: 10, top: 10, bottom: 24 };

  function svgEl(tag, attrs, parent, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.append(node);
    return node;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 2.5, 5, 10].map((f) => f * power).find((v) => v >= value);
  }

  function frame(label, buckets, max, unit) {
    const chart = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    const plotH = H - M.top - M.bottom;
    for (const fraction of [0, 0.5, 1]) {
      const y = M.top + plotH * (1 - fraction);
      svgEl("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: "grid" }, chart);
      const tick = max * fraction;
      svgEl("text", { x: M.left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, chart,
        unit === "ms" ? tickMs(tick) : fmtInt(Math.round(tick * 10) / 10));
    }
    const withDate = buckets.length > 1 && Date.parse(buckets[buckets.length - 1].start)
      - Date.parse(buckets[0].start) > 86400e3;
    const labelAt = [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1];
    labelAt.forEach((i, n) => {
      if (!buckets[i]) return;
      const text = fmtDate(buckets[i].start, withDate).replace(/:\d\d$/, "");
      const anchor = ["start", "middle", "end"][n];
      const x = n === 0 ? M.left : n === 2 ? W - M.right : xOf(i, buckets.length) + step(buckets.length) / 2;
      svgEl("text", { x, y: H - 6, class: "axis", "text-anchor": anchor }, chart, text);
    });
    return chart;
  }

  const step = (n) => (W - M.left - M.right) / Math.max(n, 1);
  const xOf = (i, n) => M.left + i * step(n);
  const yOf = (value, max) => M.top + (H - M.top - M.bottom) * (1 - value / max);

  function barChart(container, buckets) {
    const total = buckets.reduce((s, b) => s + b.requests, 0);
    const errors = buckets.reduce((s, b) => s + b.errors, 0);
    const max = niceMax(Math.max(...buckets.map((b) => b.requests)));
    const chart = frame(`${total} requests, ${errors} errors in this window`, buckets, max, "count");
    const width = Math.max(1, step(buckets.length) - 1);
    buckets.forEach((b, i) => {
      if (!b.requests) return;
      const group = svgEl("g", {}, chart);
      svgEl("title", {}, group, `${fmtDate(b.start)}: ${b.requests} requests, ${b.errors} errors`);
      for (const [value, cls] of [[b.requests, "bar"], [b.errors, "bar error"]]) {
        if (value) svgEl("rect", { x: xOf(i, buckets.length), y: yOf(value, max), width,
          height: yOf(0, max) - yOf(value, max), class: cls }, group);
      }
    });
    finish(container, chart, [["bar", "requests"], ["bar error", "errors (FAILED)"]], total === 0);
  }

  function lineChart(container, buckets, prefix, label) {
    const series = [["p50", "p50"], ["p95", "p95"], ["p99", "p99"]].map(([p, cls]) => [`${prefix}${p}_ms`, cls]);
    const values = buckets.flatMap((b) => series.map(([k]) => b[k]).filter((v) => v !== null));
    const max = niceMax(Math.max(0, ...values));
    const chart = frame(label, buckets, max, "ms");
    const half = step(buckets.length) / 2;
    for (const [key, cls] of series) {
      let points = [];
      const flush = () => {
        if (points.length > 1) svgEl("polyline", { points: points.join(" "), class: "line " + cls }, chart);
        if (points.length === 1) {
          const [x, y] = points[0].split(",");
          svgEl("circle", { cx: x, cy: y, r: 2.5, class: "dot " + cls }, chart);
        }
        points = [];
      };
      buckets.forEach((b, i) => {
        if (b[key] === null) flush(); else points.push(`${xOf(i, buckets.length) + half},${yOf(b[key], max)}`);
      });
      flush();
    }
    finish(container, chart, series.map(([, cls]) => ["line " + cls, cls]), values.length === 0);
  }

  function finish(container, chart, legend, empty) {
    if (empty) {
      svgEl("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, chart, "No data in this window");
    }
    const keys = el("ul", { class: "legend" });
    for (const [cls, text] of legend) {
      const item = el("li");
      item.append(el("span", { class: "swatch " + cls, "aria-hidden": "true" }), text);
      keys.append(item);
    }
    container.replaceChildren(chart, keys);
  }

  function modelsChart(container, models) {
    const most = Math.max(1, ...models.map((m) => m.input_tokens + m.output_tokens));
    const rows = models.map((m) => {
      const bar = svgEl("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "mini", "aria-hidden": "true" });
      const inW = (m.input_tokens / most) * 100, outW = (m.output_tokens / most) * 100;
      svgEl("rect", { x: 0, y: 0, width: inW, height: 10, class: "bar" }, bar);
      svgEl("rect", { x: inW, y: 0, width: outW, height: 10, class: "bar out" }, bar);
      return [m.model || DASH, m.provider || DASH, fmtInt(m.requests), fmtInt(m.input_tokens),
        fmtInt(m.output_tokens), moneyNode(m.cost), bar];
    });
    container.replaceChildren(...table(
      ["Model", "Provider", "Requests", "Tokens in", "Tokens out", "Cost (USD)", "Tokens (in | out)"],
      rows, "No requests in this window.", [2, 3, 4, 5]));
  }

  function fillDatalists(models) {
    for (const [list, values] of [[$("providers"), models.map((m) => m.provider)], [$("models"), models.map((m) => m.model)]]) {
      const wanted = [...new Set(values.filter(Boolean))].sort();
      if (wanted.join("\n") === [...list.options].map((o) => o.value).join("\n")) continue;
      list.replaceChildren(...wanted.map((v) => el("option", { value: v })));
    }
  }

  async function loadCharts() {
    setBusy("charts", true);
    try {
      const span = Number($("window").value);
      const until = new Date();
      const since = new Date(until.getTime() - span * 1000);
      const stats = await api("v1/activity/stats",
        { since: since.toISOString(), until: until.toISOString(), bucket_seconds: BUCKETS[span] });
      const size = stats.bucket_seconds;
      for (const node of document.querySelectorAll(".bucket-label")) {
        node.textContent = size % 60 ? `${size} s` : size % 3600 ? `${size / 60} min` : `${size / 3600} h`;
      }
      barChart($("chart-requests"), stats.buckets);
      lineChart($("chart-latency"), stats.buckets, "", "Latency percentiles per bucket");
      lineChart($("chart-ttft"), stats.buckets, "ttft_", "Time to first token percentiles per bucket");
      modelsChart($("chart-models"), stats.by_model);
      fillDatalists(stats.by_model);
      $("charts-note").textContent = stats.note || "";
    } finally {
      setBusy("charts", false);
    }
  }

  // ---- Auto-refresh ------------------------------------------------------------------
  function refreshSeconds() {
    const seconds = Number(new URLSearchParams(location.search).get("refresh"));
    return Number.isFinite(seconds) && seconds > 0 ? seconds : REFRESH_SECONDS;
  }

  // True while a refresh would change nothing the user chose: the newest page, no request open.
  const mayRefresh = () => state.cursor === null && !$("detail").open && !$("app").hidden;

  // Keeps one timer while the toggle is on and the tab is visible; each tick reloads the
  // newest page (with the applied filters) and the charts, or skips while mayRefresh() is false.
  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = null;
    if (!$("auto-refresh").checked || document.visibilityState !== "visible") return;
    state.refreshTimer = setTimeout(async () => {
      if (mayRefresh()) await Promise.all([guarded(loadPage)(), guarded(loadCharts)()]);
      if (state.refreshTimer !== null) scheduleRefresh();
    }, refreshSeconds() * 1000);
  }

  function wireRefresh() {
    const toggle = $("auto-refresh");
    toggle.checked = sessionStorage.getItem(REFRESH_STORAGE) !== "off";
    $("refresh-every").textContent = `${refreshSeconds()} s`;
    toggle.addEventListener("change", () => {
      sessionStorage.setItem(REFRESH_STORAGE, toggle.checked ? "on" : "off");
      scheduleRefresh();
    });
    document.addEventListener("visibilitychange", scheduleRefresh);
    scheduleRefresh();
  }

  // ---- Access and wiring -------------------------------------------------------------
  function showLogin(message) {
    $("app").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-key").focus();
  }

  async function loadAll() {
    try {
      await Promise.all([loadPage(), loadCharts()]);
      $("login").hidden = true;
      $("app").hidden = false;
      $("logout").hidden = !sessionStorage.getItem(KEY_STORAGE);
    } catch (error) {
      if (!(error instanceof AuthError)) { say("Error: " + error.message); $("app").hidden = false; return; }
      const hadKey = Boolean(sessionStorage.getItem(KEY_STORAGE));
      sessionStorage.removeItem(KEY_STORAGE);
      showLogin(hadKey ? "That key was not accepted." : "");
    }
  }

  function guarded(task) {
    return () => task().catch((error) => (error instanceof AuthError ? showLogin(error.message)
      : say("Error: " + error.message)));
  }

  function wire() {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, $("login-key").value.trim());
      $("login-key").value = "";
      loadAll();
    });
    $("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORAGE); showLogin(""); });
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      Object.assign(state, { filters: readFilters(), cursor: null, page: 1 });
      guarded(loadPage)();
    });
    $("filters").addEventListener("reset", () => setTimeout(() => $("filters").requestSubmit(), 0));
    $("next").addEventListener("click", () => {
      Object.assign(state, { cursor: state.nextCursor, page: state.page + 1 });
      guarded(loadPage)();
    });
    $("newest").addEventListener("click", () => { Object.assign(state, { cursor: null, page: 1 }); guarded(loadPage)(); });
    $("window").addEventListener("change", guarded(loadCharts));
    $("refresh-charts").addEventListener("click", () => { guarded(loadCharts)(); guarded(loadPage)(); });
    $("detail-close").addEventListener("click", () => $("detail").close());
    $("detail").addEventListener("close", () => state.lastRow && state.lastRow.focus());
    $("detail-tabs").addEventListener("click", (event) => {
      const tab = event.target.closest("[role=tab]");
      if (tab && state.detail) showTab(tab.dataset.tab);
    });
    $("detail-tabs").addEventListener("keydown", onTabKey);
  }

  wire();
  wireRefresh();
  loadAll();
})();
