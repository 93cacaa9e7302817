// The status page: the /v1 API and its event stream, no build step. The API key is asked once and
// kept in this tab's session storage.
"use strict";

const KEY = "revaer.api_key";
const torrents = new Map(); // info_hash -> torrent, as GET /v1/torrents gives it
let stream = null; // the AbortController of the event stream

const $ = (sel) => document.querySelector(sel);
const key = () => sessionStorage.getItem(KEY);

function size(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function say(text) { $("#message").textContent = text || ""; }

async function api(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${key()}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const data = r.headers.get("Content-Type")?.includes("json") ? await r.json() : null;
  if (r.status === 401 || r.status === 403) { askKey(data?.detail); throw new Error(data?.detail || r.statusText); }
  if (!r.ok) throw new Error(data?.detail || `${r.status} ${r.statusText}`);
  return data;
}

function askKey(why) {
  sessionStorage.removeItem(KEY);
  if (stream) stream.abort();
  $("#main").hidden = true;
  $("#key-form").hidden = false;
  if (why) say(why);
}

// ---- health -------------------------------------------------------------------------------------
async function health() {
  try {
    const r = await fetch("/v1/health");
    const h = await r.json();
    const parts = [`v${h.version}`, h.setup ? "not set up yet" : null, `port ${h.listen_port || "-"}`];
    if (h.disk) parts.push(`${size(h.disk.free)} free of ${size(h.disk.total)}`);
    const bad = h.status !== "ok";
    $("#health").innerHTML = "";
    const status = document.createElement("span");
    status.textContent = h.status;
    if (bad) status.className = "bad";
    $("#health").append(status, " · " + parts.filter(Boolean).join(" · "));
    $("#health").dataset.status = h.status;
  } catch (e) {
    $("#health").innerHTML = '<span class="bad">unreachable</span>';
  }
}

// ---- torrents -----------------------------------------------------------------------------------
function button(label, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.action = label;
  b.addEventListener("click", onclick);
  return b;
}

function doing(t) {
  if ((t.state === "downloading" || t.state === "stalled") && !t.done) {
    if (!t.has_metadata) return "fetching metadata";
    if (!t.peers) return "finding peers";
  }
  return t.state;
}

function render() {
  const body = $("#torrents tbody");
  const rows = [...torrents.values()].sort((a, b) => (a.added_at || 0) - (b.added_at || 0) || a.name.localeCompare(b.name));
  body.replaceChildren(...rows.map(row));
  if (!rows.length) body.innerHTML = '<tr class="empty"><td colspan="8">no torrents</td></tr>';
}

function row(t) {
  const tr = document.createElement("tr");
  tr.dataset.hash = t.info_hash;
  tr.dataset.state = t.state;
  tr.dataset.progress = String(t.progress);
  const cell = (text, cls) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.append(td);
    return td;
  };
  cell(t.name || t.info_hash, "name").title = t.info_hash;
  cell(doing(t), "state");
  const p = cell("", "progress");
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = t.progress;
  p.append(bar, ` ${(t.progress * 100).toFixed(1)}%`);
  cell(`${size(t.download_rate)}/s`, "num");
  cell(`${size(t.upload_rate)}/s`, "num");
  cell(`${t.peers}`, "num");
  cell(t.category || "-");
  const actions = cell("");
  const h = t.info_hash;
  actions.append(
    t.paused ? button("resume", () => act(h, "resume")) : button("pause", () => act(h, "pause")),
    button("remove", () => {
      if (confirm(`Remove ${t.name}? (the data stays on disk)`)) act(h, "remove");
    }),
  );
  return tr;
}

async function act(h, action) {
  try {
    const t = await api("POST", `/v1/torrents/${h}/${action}`);
    if (action === "remove") torrents.delete(h);
    else torrents.set(h, t);
    render();
    say("");
  } catch (e) { say(`${action}: ${e.message}`); }
}

async function loadTorrents() {
  const all = new Map();
  let cursor = null;
  for (let i = 0; i < 1000; i++) {
    const page = await api("GET", `/v1/torrents?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const t of page.torrents) all.set(t.info_hash, t);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  torrents.clear();
  for (const [h, t] of all) torrents.set(h, t);
  render();
}

async function refreshOne(h) {
  try { torrents.set(h, await api("GET", `/v1/torrents/${h}`)); render(); } catch (e) { /* removed meanwhile */ }
}

// ---- move jobs ----------------------------------------------------------------------------------
async function loadJobs() {
  const { jobs } = await api("GET", "/v1/fsjobs?limit=50");
  const body = $("#jobs tbody");
  body.replaceChildren(...jobs.map((j) => {
    const tr = document.createElement("tr");
    tr.dataset.job = j.id;
    tr.dataset.status = j.status;
    for (const text of [j.id, j.status, j.attempts, j.destination, j.error || ""]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    const td = document.createElement("td");
    if (j.status === "failed") {
      td.append(button("retry", async () => {
        try { await api("POST", `/v1/fsjobs/${j.id}/retry`); await loadJobs(); } catch (e) { say(`retry: ${e.message}`); }
      }));
    }
    tr.append(td);
    return tr;
  }));
  if (!jobs.length) body.innerHTML = '<tr class="empty"><td colspan="6">no move jobs</td></tr>';
}

// ---- adding -------------------------------------------------------------------------------------
async function add(ev) {
  ev.preventDefault();
  const form = ev.target;
  const magnet = form.magnet.value.trim();
  const files = [...form.file.files];
  const category = form.category.value.trim();
  const paused = form.paused.checked;
  if (!magnet && !files.length) { say("give a magnet link or choose .torrent files"); return; }
  try {
    let added = [];
    if (magnet) {
      const body = { magnet, ...(category ? { category } : {}), ...(paused ? { paused } : {}) };
      added = added.concat((await api("POST", "/v1/torrents/add", body)).info_hashes);
    }
    if (files.length) {
      const data = new FormData();
      for (const f of files) data.append("torrents", f, f.name);
      if (category) data.append("category", category);
      if (paused) data.append("paused", "true");
      added = added.concat((await api("POST", "/v1/torrents/add", data)).info_hashes);
    }
    form.reset();
    say(`added ${added.length}`);
    for (const h of added) await refreshOne(h);
  } catch (e) { say(`add: ${e.message}`); }
}

// ---- the event stream (fetch, so that the key goes in a header) ---------------------------------
function handle(name, data) {
  if (name === "torrent.updated") { torrents.set(data.info_hash, data); render(); }
  else if (name === "torrent.added" || name === "torrent.state" || name === "torrent.completed") refreshOne(data.info_hash);
  else if (name === "torrent.removed") { torrents.delete(data.info_hash); render(); }
  else if (name.startsWith("fsjob.")) loadJobs().catch(() => {});
  else if (name === "resync" || name === "lagged") return false;
  return true;
}

async function follow() {
  for (let attempt = 0; key(); attempt++) {
    stream = new AbortController();
    try {
      const r = await fetch("/v1/events/stream", { headers: { Authorization: `Bearer ${key()}` }, signal: stream.signal });
      if (r.status === 401 || r.status === 403) { askKey("the API key was refused"); return; }
      if (!r.ok) throw new Error(`${r.status}`);
      if (attempt) await Promise.all([loadTorrents(), loadJobs()]); // catch up after a reconnect
      attempt = 0;
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      let live = true;
      while (live) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = (buf + value).replace(/\r\n/g, "\n"); // the stream's lines end in CRLF
        let end;
        while (live && (end = buf.indexOf("\n\n")) >= 0) {
          const chunk = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let name = "message";
          let data = "";
          for (const line of chunk.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) live = handle(name, JSON.parse(data));
        }
      }
      stream.abort();
    } catch (e) {
      if (!key()) return;
    }
    await new Promise((ok) => setTimeout(ok, Math.min(5000, 250 * 2 ** attempt)));
  }
}

async function start() {
  $("#key-form").hidden = true;
  $("#main").hidden = false;
  try {
    await Promise.all([loadTorrents(), loadJobs()]);
    say("");
    follow();
  } catch (e) { say(e.message); }
}

$("#key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, ev.target.key.value.trim());
  ev.target.reset();
  start();
});
$("#add-form").addEventListener("submit", add);
health();
setInterval(health, 5000);
if (key()) start(); else askKey();
