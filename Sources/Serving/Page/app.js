// StableSAM serve: the page. Plain JS, no libraries: the server is on this machine, offline.
"use strict";

// The token comes in the printed URL; every request carries it in a header (the event stream,
// which cannot set headers, in the query).
const token = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("stablesam-token") || "";
sessionStorage.setItem("stablesam-token", token);

const STATE_COLOURS = { tracked: "#3fae5a", occluded: "#e0a030", lost: "#d04545" };
const $ = (id) => document.getElementById(id);
const canvas = $("frame-canvas"), ctx = canvas.getContext("2d");
const scrubber = $("scrubber"), sctx = scrubber.getContext("2d");

const app = {
  info: null, frame: 0, objects: [], selected: null, tool: "box", states: [],
  image: null, overlay: null, drag: null, running: null, frameToken: 0,
};

async function api(path, body) {
  const init = { headers: { "X-StableSAM-Token": token } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (!r.ok) {
    let text = `${r.status}`;
    try { text = (await r.json()).error || text; } catch (e) { /* not JSON */ }
    throw new Error(text);
  }
  return r;
}

function say(text, isError) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

// Palette colours (index = id, as palette/ and the masks' ids), brightened for a dark page.
function colour(o, alpha) {
  const [r, g, b] = o.color.map((c) => Math.min(255, c * 1.6 + 40));
  return alpha === undefined ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${alpha})`;
}

function objectById(id) { return app.objects.find((o) => o.id === id); }
function keyframeOf(o, frame) { return o && o.keyframes.find((k) => k.frame === frame); }

// ---- loading ----

async function start() {
  app.info = await (await api("/api/info")).json();
  $("video-name").textContent = `${app.info.video}, ${app.info.width}x${app.info.height}, ${app.info.frames} frames`;
  $("folder").textContent = app.info.folder;
  canvas.width = app.info.width;
  canvas.height = app.info.height;
  await loadPlan();
  if (app.objects.length) app.selected = app.objects[0].id;
  else newObject();
  renderObjects();
  await loadStates();
  await showFrame(0);
  listen();
  canvas.focus();
}

async function loadPlan() {
  const plan = await (await api("/api/plan")).json();
  // Objects the page made but gave no keyframe yet are kept.
  const pending = app.objects.filter((o) => o.pending && !plan.objects.some((p) => p.id === o.id));
  app.objects = plan.objects.concat(pending).sort((a, b) => a.id - b.id);
  app.running = plan.running;
  $("undo").disabled = plan.undo === 0;
  setRunning(plan.running);
}

async function loadStates() {
  app.states = (await (await api("/api/states")).json()).frames;
  drawScrubber();
}

async function loadImage(url) {
  const r = await api(url);
  if (r.status === 204) return null;
  const blob = await r.blob();
  const img = new Image();
  img.src = URL.createObjectURL(blob);
  await img.decode();
  return img;
}

// The overlay PNG holds object ids; turn it into coloured, half-transparent masks with outlines.
function colourOverlay(img) {
  const off = document.createElement("canvas");
  off.width = img.width; off.height = img.height;
  const o = off.getContext("2d");
  o.drawImage(img, 0, 0);
  const data = o.getImageData(0, 0, img.width, img.height);
  const px = data.data, w = img.width;
  const ids = new Uint8Array(img.width * img.height);
  // An indexed PNG decodes to its palette's RGB: map each object's palette colour back to its id.
  const byColour = new Map(app.objects.map((ob) => [ob.color.join(","), ob.id]));
  for (let i = 0; i < ids.length; i++) {
    const key = `${px[4 * i]},${px[4 * i + 1]},${px[4 * i + 2]}`;
    ids[i] = byColour.get(key) || 0;
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!id) { px[4 * i + 3] = 0; continue; }
    const ob = objectById(id);
    const [r, g, b] = ob ? ob.color.map((c) => Math.min(255, c * 1.6 + 40)) : [255, 255, 255];
    const edge = (i % w > 0 && ids[i - 1] !== id) || (i % w < w - 1 && ids[i + 1] !== id) || ids[i - w] !== id || ids[i + w] !== id;
    px[4 * i] = edge ? 255 : r; px[4 * i + 1] = edge ? 255 : g; px[4 * i + 2] = edge ? 255 : b;
    px[4 * i + 3] = edge ? 230 : 120;
  }
  o.putImageData(data, 0, 0);
  return off;
}

async function showFrame(n, keepOverlay) {
  const count = app.info.frames;
  n = Math.max(0, Math.min(count - 1, n));
  app.frame = n;
  const mine = ++app.frameToken;
  $("frame-number").textContent = `frame ${n} / ${count - 1}`;
  try {
    const [img, overlay] = await Promise.all([loadImage(`/api/frames/${n}`), loadImage(`/api/overlay/${n}`)]);
    if (mine !== app.frameToken) return; // a later step won
    app.image = img;
    app.overlay = overlay ? colourOverlay(overlay) : null;
  } catch (e) {
    if (!keepOverlay) say(e.message, true);
  }
  draw();
  drawScrubber();
}

// ---- drawing ----

function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (app.image) ctx.drawImage(app.image, 0, 0);
  if (app.overlay) ctx.drawImage(app.overlay, 0, 0);
  // Keyframes on this frame: boxes dashed, points as dots (green +, red -).
  for (const o of app.objects) {
    const k = keyframeOf(o, app.frame);
    if (!k) continue;
    const selected = o.id === app.selected;
    ctx.lineWidth = selected ? 2 : 1;
    ctx.strokeStyle = colour(o);
    if (k.box) {
      ctx.setLineDash([6, 4]);
      ctx.strokeRect(k.box[0], k.box[1], k.box[2] - k.box[0], k.box[3] - k.box[1]);
      ctx.setLineDash([]);
    }
    for (const [x, y, label] of k.points || []) {
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.fillStyle = label ? "#3fdc6a" : "#ff4a4a";
      ctx.fill();
      ctx.strokeStyle = "#fff";
      ctx.stroke();
    }
  }
  if (app.drag) {
    const d = app.drag, o = objectById(app.selected);
    ctx.strokeStyle = o ? colour(o) : "#fff";
    ctx.lineWidth = 2;
    ctx.strokeRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
  }
}

// One cell per frame, coloured by the selected object's state there; keyframes as white marks.
function drawScrubber() {
  const count = app.info ? app.info.frames : 0;
  const w = scrubber.clientWidth || 600;
  scrubber.width = w;
  sctx.fillStyle = "#2a2d33";
  sctx.fillRect(0, 0, w, 28);
  if (!count) return;
  const cell = w / count, o = objectById(app.selected);
  for (let t = 0; t < count; t++) {
    const row = app.states[t] || {};
    const state = o ? row[String(o.id)] : Object.values(row)[0];
    sctx.fillStyle = STATE_COLOURS[state] || "#4a4d55";
    sctx.fillRect(t * cell, 6, Math.max(1, cell - 1), 16);
  }
  for (const k of o ? o.keyframes : []) {
    sctx.fillStyle = "#fff";
    sctx.fillRect(k.frame * cell, 0, Math.max(2, cell - 1), 6);
    sctx.fillRect(k.frame * cell, 22, Math.max(2, cell - 1), 6);
  }
  sctx.strokeStyle = "#6aa0ff";
  sctx.lineWidth = 2;
  sctx.strokeRect(app.frame * cell + 1, 1, Math.max(3, cell - 2), 26);
}

function renderObjects() {
  const list = $("objects");
  list.innerHTML = "";
  for (const o of app.objects) {
    const li = document.createElement("li");
    li.dataset.id = o.id;
    li.className = o.id === app.selected ? "selected" : "";
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.style.background = colour(o);
    const name = document.createElement("span");
    name.textContent = o.name;
    const keys = document.createElement("span");
    keys.className = "keys";
    keys.textContent = o.keyframes.length ? `keyframes ${o.keyframes.map((k) => k.frame).join(", ")}` : "no keyframe";
    li.append(dot, name, keys);
    li.onclick = () => { app.selected = o.id; renderObjects(); draw(); drawScrubber(); };
    list.append(li);
  }
}

// A new object takes the lowest free id (its palette colour); it is saved with its first keyframe.
function newObject() {
  let id = 1;
  while (objectById(id)) id++;
  const colourOf = (i) => { let r = 0, g = 0, b = 0, c = i; for (let s = 7; s >= 0; s--) { r |= (c & 1) << s; g |= ((c >> 1) & 1) << s; b |= ((c >> 2) & 1) << s; c >>= 3; } return [r, g, b]; };
  app.objects.push({ id, name: `object ${id}`, color: colourOf(id), keyframes: [], pending: true });
  app.objects.sort((a, b) => a.id - b.id);
  app.selected = id;
  renderObjects();
}

// ---- editing ----

function canvasPoint(ev) {
  const r = canvas.getBoundingClientRect();
  const x = ((ev.clientX - r.left) * canvas.width) / r.width, y = ((ev.clientY - r.top) * canvas.height) / r.height;
  return [Math.max(0, Math.min(canvas.width - 1, Math.round(x))), Math.max(0, Math.min(canvas.height - 1, Math.round(y)))];
}

async function sendKeyframe(body) {
  const o = objectById(app.selected);
  try {
    const r = await api("/api/keyframes", Object.assign({ id: o.id, name: o.name, frame: app.frame }, body));
    app.objects = app.objects.filter((x) => x.id !== o.id || !x.pending);
    await loadPlan();
    renderObjects();
    say(`keyframe of ${o.name} on frame ${app.frame} saved: propagate to apply it`);
  } catch (e) {
    say(e.message, true);
  }
  draw();
  drawScrubber();
}

canvas.addEventListener("mousedown", (ev) => {
  if (!app.selected) return;
  const [x, y] = canvasPoint(ev);
  if (app.tool === "box") app.drag = { x0: x, y0: y, x1: x, y1: y };
});
canvas.addEventListener("mousemove", (ev) => {
  if (!app.drag) return;
  [app.drag.x1, app.drag.y1] = canvasPoint(ev);
  draw();
});
canvas.addEventListener("mouseup", (ev) => {
  const [x, y] = canvasPoint(ev);
  if (app.tool === "box" && app.drag) {
    const d = app.drag;
    app.drag = null;
    const box = [Math.min(d.x0, x), Math.min(d.y0, y), Math.max(d.x0, x), Math.max(d.y0, y)];
    if (box[2] - box[0] < 3 || box[3] - box[1] < 3) { draw(); say("drag to draw a box (it was too small)", true); return; }
    sendKeyframe({ box });
  } else if (app.tool === "pos" || app.tool === "neg") {
    // A point joins the keyframe on this frame (its box and points), or starts one.
    const k = keyframeOf(objectById(app.selected), app.frame);
    const points = ((k && k.points) || []).concat([[x, y, app.tool === "pos" ? 1 : 0]]);
    sendKeyframe(k && k.box ? { box: k.box, points } : { points });
  }
});

function setTool(tool) {
  app.tool = tool;
  for (const b of document.querySelectorAll(".tool")) b.classList.toggle("active", b.dataset.tool === tool);
}
for (const b of document.querySelectorAll(".tool")) b.onclick = () => setTool(b.dataset.tool);

$("new-object").onclick = () => { newObject(); draw(); drawScrubber(); };
$("prev").onclick = () => showFrame(app.frame - 1);
$("next").onclick = () => showFrame(app.frame + 1);
scrubber.addEventListener("click", (ev) => {
  const r = scrubber.getBoundingClientRect();
  showFrame(Math.floor(((ev.clientX - r.left) / r.width) * app.info.frames));
});

async function undo() {
  try {
    await api("/api/undo", {});
    await loadPlan();
    renderObjects();
    say("undid the last keyframe change");
  } catch (e) { say(e.message, true); }
  draw();
  drawScrubber();
}
$("undo").onclick = undo;
$("remove-key").onclick = async () => {
  try {
    await api("/api/keyframes/remove", { id: app.selected, frame: app.frame });
    await loadPlan();
    renderObjects();
  } catch (e) { say(e.message, true); }
  draw();
  drawScrubber();
};

async function run(kind) {
  try {
    await api(`/api/${kind}`, {});
    setRunning(kind);
    say(kind === "export" ? "exporting the run folder..." : "propagating...");
  } catch (e) { say(e.message, true); }
}
$("propagate").onclick = () => run("propagate");
$("export").onclick = () => run("export");
$("stop").onclick = () => api("/api/stop", {}).catch((e) => say(e.message, true));

document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT") return;
  const step = ev.shiftKey ? 10 : 1;
  if (ev.key === "ArrowRight") { showFrame(app.frame + step); ev.preventDefault(); }
  else if (ev.key === "ArrowLeft") { showFrame(app.frame - step); ev.preventDefault(); }
  else if (ev.key === "Home") showFrame(0);
  else if (ev.key === "End") showFrame(app.info.frames - 1);
  else if ((ev.ctrlKey || ev.metaKey) && ev.key === "z") { undo(); ev.preventDefault(); }
  else if (ev.key === "b") setTool("box");
  else if (ev.key === "p") setTool("pos");
  else if (ev.key === "n") setTool("neg");
});

// ---- progress ----

function setRunning(kind) {
  app.running = kind;
  // "done" / "failed" stay until the next run: only a running state falls back to idle.
  if (kind) $("status").dataset.state = "running";
  else if ($("status").dataset.state === "running") $("status").dataset.state = "idle";
  if (kind) $("status").textContent = `${kind} running`;
  for (const id of ["propagate", "export"]) $(id).disabled = !!kind;
  $("stop").disabled = !kind;
}

let statesTimer = null;
function listen() {
  const events = new EventSource(`/api/progress?token=${encodeURIComponent(token)}`);
  events.addEventListener("status", (e) => setRunning(JSON.parse(e.data).running));
  events.addEventListener("started", (e) => setRunning(JSON.parse(e.data).kind));
  events.addEventListener("log", (e) => { $("status").textContent = JSON.parse(e.data).line; });
  events.addEventListener("frame", (e) => {
    const f = JSON.parse(e.data);
    $("status").textContent = `${app.running || "run"}: ${f.pass} pass, frame ${f.index} (${f.done} / ${f.total})`;
    $("progress-bar").style.width = `${Math.min(100, (100 * f.done) / Math.max(1, f.total))}%`;
    // Frames update as they land: the one on screen at once, the scrubber's states every half second.
    if (f.index === app.frame && f.tracked) showFrame(app.frame, true);
    if (!statesTimer) statesTimer = setTimeout(() => { statesTimer = null; loadStates(); }, 500);
  });
  events.addEventListener("done", async (e) => {
    const d = JSON.parse(e.data);
    // Counted, so a test (or a person) can tell this run's end from the previous one's.
    $("status").dataset.runs = String(Number($("status").dataset.runs || 0) + 1);
    setRunning(null);
    $("progress-bar").style.width = d.ok ? "100%" : "0";
    $("status").textContent = d.ok ? `${d.kind} done` : `${d.kind} failed`;
    $("status").dataset.state = d.ok ? "done" : "failed";
    say(d.message, !d.ok);
    await loadPlan();
    renderObjects();
    await loadStates();
    await showFrame(app.frame, true);
  });
}

window.addEventListener("resize", drawScrubber);
start().catch((e) => say(`cannot start: ${e.message}`, true));
