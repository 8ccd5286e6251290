// ganserve playground: plain JavaScript against the service's own REST API (no build step).
// Every call goes through api(), which adds the API key and turns error answers into readable messages.
"use strict";

const $ = (id) => document.getElementById(id);
const SEED_MAX = 4294967295;
const KEY_STORE = "ganserve.apiKey";
let models = [];          // ModelInfo objects from GET /v1/models
let lastRequest = null;   // the model/truncation of the grid on screen, for the viewer

// ---- API access and errors -------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, type, message, retryAfter) {
    super(message);
    this.status = status; this.type = type; this.retryAfter = retryAfter;
  }
}

async function api(path, { method = "GET", json, body } = {}) {
  const headers = { Accept: "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  let response;
  try {
    response = await fetch(path, { method, headers, body });  // relative: works behind a path prefix too
  } catch (e) {
    throw new ApiError(0, "network", `cannot reach the server (${e.message})`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: report the text below */ }
  if (!response.ok) {
    const message = (data && (data.error || (data.detail && JSON.stringify(data.detail)))) || text || response.statusText;
    throw new ApiError(response.status, data && data.type, message, response.headers.get("Retry-After"));
  }
  return data;
}

function explain(action, err) {
  if (!(err instanceof ApiError)) return `${action} failed: ${err.message}`;
  const tag = err.status ? ` (HTTP ${err.status}${err.type ? ", " + err.type : ""})` : "";
  if (err.status === 401) {
    return `${action} failed: this server needs an API key. Enter it in the "API key" field at the top right. ` +
           `Server said: ${err.message}${tag}`;
  }
  if (err.status === 503 || err.status === 429) {
    const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
    return `${action} failed: the server is busy: ${err.message}.${wait}${tag}`;
  }
  return `${action} failed: ${err.message}${tag}`;
}

function showError(text) { $("error-text").textContent = text; $("error").hidden = false; }
function clearError() { $("error").hidden = true; $("error-text").textContent = ""; }

async function busy(button, action, work) {
  button.disabled = true;
  clearError();
  try { await work(); } catch (err) { showError(explain(action, err)); } finally { button.disabled = false; }
}

// ---- Models ---------------------------------------------------------------------------------

const model = (name) => models.find((m) => m.name === name);
const isGenerator = (m) => m.kind === "unconditional" || m.kind === "conditional";
const size = (im) => (im ? `${im.channels}×${im.height}×${im.width}` : "–");

async function loadModels() {
  clearError();
  try {
    models = (await api("v1/models")).models;
  } catch (err) {
    models = [];
    showError(explain("Listing models", err));
  }
  const rows = models.map((m) => {
    const tr = document.createElement("tr");
    const classes = m.class_names ? m.class_names.join(", ") : "–";
    const cells = [m.name, m.version, null, size(m.image), classes, m.provider || "–"];
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      if (i === 2) { const s = document.createElement("span"); s.className = "kind"; s.textContent = m.kind; td.append(s); }
      else td.textContent = value;
      if (i === 4) { td.className = "classes"; td.title = classes; }
      tr.append(td);
    });
    return tr;
  });
  $("models-table").tBodies[0].replaceChildren(...rows);
  $("models-empty").hidden = models.length > 0;
  fillSelect($("gen-model"), models.filter(isGenerator).map((m) => [m.name, `${m.name} (${m.kind})`]));
  fillSelect($("tr-model"), models.filter((m) => m.kind === "translation").map((m) => [m.name, m.name]));
  $("tr-empty").hidden = models.length === 0 || !$("tr-model").disabled;
  onGeneratorChange();
}

function fillSelect(select, options, keep = true) {
  const previous = select.value;
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  if (keep && options.some(([v]) => v === previous)) select.value = previous;
  select.disabled = options.length === 0;
}

function onGeneratorChange() {
  const m = model($("gen-model").value);
  const names = (m && m.class_names) || [];
  const conditional = names.length > 0;
  const classes = names.map((n, i) => [String(i), n]);
  fillSelect($("gen-class"), conditional ? [["cycle", "each class in turn"], ["random", "random per image"], ...classes]
                                         : [["", "– (unconditional)"]]);
  fillSelect($("interp-class-a"), classes);
  fillSelect($("interp-class-b"), classes);
  if (conditional && $("interp-class-b").value === $("interp-class-a").value && classes.length > 1) {
    $("interp-class-b").value = classes[classes.length - 1][0];
  }
  document.querySelectorAll(".conditional").forEach((el) => { el.hidden = !conditional; });
}

// ---- Generation grid and viewer --------------------------------------------------------------

function labelsFor(m, n) {
  const choice = $("gen-class").value;
  if (!m.num_classes || choice === "") return undefined;
  if (choice === "cycle") return Array.from({ length: n }, (_, i) => i % m.num_classes);
  if (choice === "random") return Array.from({ length: n }, () => Math.floor(Math.random() * m.num_classes));
  return Number(choice);
}

const className = (m, label) => (label === null || label === undefined ? null : (m.class_names || [])[label] ?? String(label));
const caption = (m, im) => `seed ${im.seed}` + (className(m, im.label) !== null ? ` · class ${className(m, im.label)}` : "");

async function generate() {
  const m = model($("gen-model").value);
  if (!m) throw new Error("no generator model is loaded");
  const n = Number($("gen-n").value);
  const truncation = Number($("gen-truncation").value);
  const body = { n, seed: Number($("gen-seed").value), truncation };
  const labels = labelsFor(m, n);
  if (labels !== undefined) body.labels = labels;
  const answer = await api(`v1/models/${encodeURIComponent(m.name)}/generate`, { method: "POST", json: body });
  lastRequest = { model: m, truncation };
  $("grid").replaceChildren(...answer.images.map((im) => {
    const fig = document.createElement("figure");
    const img = new Image();
    img.src = `data:image/png;base64,${im.png}`;
    img.alt = caption(m, im);
    img.dataset.seed = im.seed;
    img.dataset.label = im.label ?? "";
    img.addEventListener("click", () => openViewer(img));
    const cap = document.createElement("figcaption");
    cap.textContent = caption(m, im);
    fig.append(img, cap);
    return fig;
  }));
}

function openViewer(img) {
  const { model: m, truncation } = lastRequest;
  const label = img.dataset.label === "" ? null : Number(img.dataset.label);
  $("viewer-img").src = img.src;
  $("viewer-caption").textContent = `${m.name} · ${caption(m, { seed: img.dataset.seed, label })} · truncation ${truncation}`;
  const query = new URLSearchParams();
  if (label !== null) query.set("label", label);
  if (truncation !== 1) query.set("truncation", truncation);
  const qs = query.toString();
  $("viewer-url").textContent = new URL(`v1/models/${m.name}/images/${img.dataset.seed}.png${qs ? "?" + qs : ""}`, document.baseURI);
  $("viewer").dataset.seed = img.dataset.seed;
  $("viewer").dataset.label = img.dataset.label;
  $("viewer").showModal();
}

function reproduce() {
  // Image i of a request has its own seed, so asking for one image with that seed gives the same picture.
  const { seed, label } = $("viewer").dataset;
  $("viewer").close();
  $("gen-seed").value = seed;
  $("gen-n").value = 1;
  if (label !== "") $("gen-class").value = label;
  $("gen-form").requestSubmit();
}

// ---- Interpolation ---------------------------------------------------------------------------

async function interpolate() {
  const m = model($("gen-model").value);
  if (!m) throw new Error("no generator model is loaded");
  const body = {
    seeds: [Number($("interp-seed-a").value), Number($("interp-seed-b").value)],
    steps: Number($("interp-steps").value),
    method: $("interp-method").value,
    truncation: Number($("gen-truncation").value),
  };
  if (m.num_classes) body.labels = [Number($("interp-class-a").value), Number($("interp-class-b").value)];
  const answer = await api(`v1/models/${encodeURIComponent(m.name)}/interpolate`, { method: "POST", json: body });
  $("strip").replaceChildren(...answer.images.map((im) => {
    const fig = document.createElement("figure");
    const img = new Image();
    img.src = `data:image/png;base64,${im.png}`;
    img.alt = `t = ${Number(im.t).toFixed(2)}`;
    img.dataset.t = im.t;
    const cap = document.createElement("figcaption");
    cap.textContent = img.alt;
    fig.append(img, cap);
    return fig;
  }));
}

// ---- Translation: upload or draw -------------------------------------------------------------

const canvas = () => $("tr-canvas");
let drawing = false;

function clearCanvas() {
  const ctx = canvas().getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas().width, canvas().height);
}

function pointer(event) {
  const r = canvas().getBoundingClientRect();
  return [(event.clientX - r.left) * (canvas().width / r.width), (event.clientY - r.top) * (canvas().height / r.height)];
}

function startStroke(event) {
  drawing = true;
  const ctx = canvas().getContext("2d");
  Object.assign(ctx, { strokeStyle: "#fff", lineWidth: 22, lineCap: "round", lineJoin: "round" });
  ctx.beginPath();
  ctx.moveTo(...pointer(event));
  ctx.lineTo(...pointer(event));
  ctx.stroke();
}

function continueStroke(event) {
  if (!drawing) return;
  const ctx = canvas().getContext("2d");
  ctx.lineTo(...pointer(event));
  ctx.stroke();
}

function endStroke() {
  if (!drawing) return;
  drawing = false;
  $("tr-form").requestSubmit();
}

async function loadUpload() {
  const file = $("tr-file").files[0];
  if (!file) return;
  const bitmap = await createImageBitmap(file);
  clearCanvas();
  canvas().getContext("2d").drawImage(bitmap, 0, 0, canvas().width, canvas().height);
  $("tr-form").requestSubmit();
}

function canvasPng(m) {
  // Shrink to what the model takes, so the server sees the same picture the user sees in "input, as sent".
  const spec = m.input_image || m.image;
  const small = document.createElement("canvas");
  small.width = spec.width; small.height = spec.height;
  const ctx = small.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(canvas(), 0, 0, spec.width, spec.height);
  return new Promise((resolve) => small.toBlob(resolve, "image/png"));
}

async function translate() {
  const m = model($("tr-model").value);
  if (!m) throw new Error("no translation model is loaded");
  const png = await canvasPng(m);
  $("tr-input-img").src = URL.createObjectURL(png);
  const form = new FormData();
  form.append("image", png, "input.png");
  const answer = await api(`v1/models/${encodeURIComponent(m.name)}/translate`, { method: "POST", body: form });
  $("tr-output-img").src = `data:image/png;base64,${answer.images[0].png}`;
  $("tr-output-caption").textContent = `translation by ${answer.model} v${answer.version}`;
}

// ---- Wiring ---------------------------------------------------------------------------------

function randomSeed() {
  const n = Number($("gen-n").value) || 1;
  return crypto.getRandomValues(new Uint32Array(1))[0] % (SEED_MAX - n + 1);
}

function init() {
  $("api-key").value = localStorage.getItem(KEY_STORE) || "";
  $("api-key").addEventListener("change", () => { localStorage.setItem(KEY_STORE, $("api-key").value.trim()); loadModels(); });
  $("error-close").addEventListener("click", clearError);
  $("gen-model").addEventListener("change", onGeneratorChange);
  $("gen-random").addEventListener("click", () => { $("gen-seed").value = randomSeed(); });
  $("gen-truncation").addEventListener("input", () => { $("gen-truncation-value").value = Number($("gen-truncation").value).toFixed(2); });
  $("gen-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("gen-submit"), "Generating", generate); });
  $("interp-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("interp-submit"), "Interpolating", interpolate); });
  $("tr-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("tr-submit"), "Translating", translate); });
  $("viewer-reproduce").addEventListener("click", reproduce);
  $("tr-clear").addEventListener("click", clearCanvas);
  $("tr-file").addEventListener("change", () => busy($("tr-submit"), "Reading the upload", loadUpload));
  canvas().addEventListener("mousedown", startStroke);
  canvas().addEventListener("mousemove", continueStroke);
  window.addEventListener("mouseup", endStroke);
  clearCanvas();
  loadModels();
}

document.addEventListener("DOMContentLoaded", init);
