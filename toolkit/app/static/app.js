// HarmonyZoo's local page: inputs → one job on the server → each chosen model in turn (results appear as they
// finish). No framework, no build step, nothing fetched from outside this server.
'use strict';

const $ = (selector) => document.querySelector(selector);
const state = { mode: 'pair', composedJob: null, composedFor: null, cutout: null, background: null,
                placement: { x: 0, y: 0, scale: 1 }, inputUrl: null, results: [] };

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let payload;
  try { payload = await response.json(); } catch (error) { payload = { error: `${response.status} ${response.statusText}` }; }
  if (!response.ok || payload.error) { throw new Error(payload.error || `${response.status} ${response.statusText}`); }
  return payload;
}

function showError(message) {
  const box = $('#error');
  box.textContent = message || '';
  box.classList.toggle('hidden', !message);
}

function setStatus(text) { $('#status').textContent = text; }

function readFile(input, what) {
  const file = input.files && input.files[0];
  if (!file) { return Promise.reject(new Error(`choose a ${what} file`)); }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ name: file.name, data: reader.result });
    reader.onerror = () => reject(new Error(`${file.name}: the browser could not read the file`));
    reader.readAsDataURL(file);
  });
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the browser cannot show this image'));
    image.src = url;
  });
}

// ------------------------------------------------------------------------------------------------ models
async function loadModels() {
  const models = await api('/api/models');
  const box = $('#models');
  box.innerHTML = '';
  for (const model of models) {
    const label = document.createElement('label');
    const box_ = document.createElement('input');
    box_.type = 'checkbox';
    box_.className = 'model-choice';
    box_.value = model.name;
    box_.checked = model.default;
    label.append(box_, document.createTextNode(model.name));
    if (model.default) { label.append(tag('default')); }
    if (model.comparison_only) { label.append(tag(model.use || 'comparison only', true)); }
    label.title = `${model.collection} · weights ${model.weights}`;
    box.append(label);
  }
}

function tag(text, warn) {
  const span = document.createElement('span');
  span.className = warn ? 'tag warn' : 'tag';
  span.textContent = text;
  return span;
}

async function loadSamples() {
  const samples = await api('/api/samples');
  const select = $('#sample-select');
  select.innerHTML = '';
  for (const sample of samples) {
    const option = document.createElement('option');
    option.value = sample.id;
    option.textContent = sample.name;
    select.append(option);
  }
}

// ------------------------------------------------------------------------------------------------- tabs
function setMode(mode) {
  state.mode = mode;
  for (const tab of document.querySelectorAll('.tab')) { tab.classList.toggle('active', tab.dataset.mode === mode); }
  for (const name of ['pair', 'cutout', 'sample']) { $(`#mode-${name}`).classList.toggle('hidden', name !== mode); }
  showError('');
}

// ------------------------------------------------------------------------------------------- placement
function placementChanged() {
  state.placement = { x: Number($('#pos-x').value), y: Number($('#pos-y').value), scale: Number($('#scale').value) };
  $('#pos-x-value').textContent = state.placement.x;
  $('#pos-y-value').textContent = state.placement.y;
  $('#scale-value').textContent = state.placement.scale.toFixed(2);
  drawPlacement();
}

function setPlacement(x, y, scale) {
  $('#pos-x').value = Math.round(x);
  $('#pos-y').value = Math.round(y);
  if (scale !== undefined) { $('#scale').value = scale; }
  placementChanged();
}

function centre() {
  if (!state.cutout || !state.background) { return; }
  const scale = Number($('#scale').value);
  const width = Math.max(1, Math.round(state.cutout.naturalWidth * scale));
  const height = Math.max(1, Math.round(state.cutout.naturalHeight * scale));
  setPlacement(Math.floor((state.background.naturalWidth - width) / 2),
               Math.floor((state.background.naturalHeight - height) / 2));
}

function fitRanges() {
  if (!state.background) { return; }
  const cutWidth = state.cutout ? state.cutout.naturalWidth * 4 : 0;
  const cutHeight = state.cutout ? state.cutout.naturalHeight * 4 : 0;
  $('#pos-x').min = -cutWidth; $('#pos-x').max = state.background.naturalWidth;
  $('#pos-y').min = -cutHeight; $('#pos-y').max = state.background.naturalHeight;
}

function canvasScale() {
  const canvas = $('#placement-canvas');
  return state.background ? canvas.width / state.background.naturalWidth : 1;
}

function drawPlacement() {
  const canvas = $('#placement-canvas');
  const context = canvas.getContext('2d');
  if (state.background) {
    canvas.width = Math.min(900, state.background.naturalWidth);
    canvas.height = Math.round(canvas.width * state.background.naturalHeight / state.background.naturalWidth);
  }
  context.clearRect(0, 0, canvas.width, canvas.height);
  const factor = canvasScale();
  if (state.background) { context.drawImage(state.background, 0, 0, canvas.width, canvas.height); }
  if (state.cutout) {
    const { x, y, scale } = state.placement;
    context.drawImage(state.cutout, x * factor, y * factor, state.cutout.naturalWidth * scale * factor,
                      state.cutout.naturalHeight * scale * factor);
  }
}

function enableDragging() {
  const canvas = $('#placement-canvas');
  let drag = null;
  canvas.addEventListener('pointerdown', (event) => {
    if (!state.cutout || !state.background) { return; }
    const factor = canvasScale() * canvas.clientWidth / canvas.width;
    drag = { startX: event.clientX, startY: event.clientY, x: state.placement.x, y: state.placement.y, factor };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drag) { return; }
    setPlacement(drag.x + (event.clientX - drag.startX) / drag.factor, drag.y + (event.clientY - drag.startY) / drag.factor);
  });
  const stop = () => { drag = null; };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
}

async function pickPlacementImage(input, key) {
  const file = input.files && input.files[0];
  if (!file) { return; }
  try {
    state[key] = await loadImage(URL.createObjectURL(file));
    fitRanges();
    if (state.cutout && state.background) { centre(); } else { drawPlacement(); }
    showError('');
  } catch (error) {
    showError(`${file.name}: ${error.message}`);
  }
}

function placementKey() {
  const files = ['#cutout-file', '#background-file'].map((selector) => {
    const file = $(selector).files[0];
    return file ? `${file.name}:${file.size}:${file.lastModified}` : '';
  });
  return JSON.stringify([files, state.placement]);
}

async function compose() {
  const [cutout, background] = await Promise.all([readFile($('#cutout-file'), 'cut-out'),
                                                  readFile($('#background-file'), 'background')]);
  const job = await api('/api/compose', { cutout, background, ...state.placement });
  state.composedJob = job;
  state.composedFor = placementKey();
  clearResults();
  addInputCards(job);
  return job;
}

// --------------------------------------------------------------------------------------------- results
function clearResults() {
  $('#results').innerHTML = '';
  state.results = [];
  $('#compare').classList.add('hidden');
  $('#compare-model').innerHTML = '';
}

function card(title, url, { model, meta, failed, downloadName } = {}) {
  const element = document.createElement('div');
  element.className = failed ? 'card failed' : 'card';
  if (model) { element.dataset.model = model; }
  const heading = document.createElement('h3');
  heading.textContent = title;
  element.append(heading);
  if (url) {
    const image = document.createElement('img');
    image.className = model ? 'result-image' : 'input-image';
    image.src = url;
    image.alt = title;
    element.append(image);
  }
  if (meta) {
    const line = document.createElement('div');
    line.className = 'meta';
    line.textContent = meta;
    element.append(line);
  }
  if (downloadName) {
    const link = document.createElement('a');
    link.className = 'download';
    link.href = `${url}?download=1`;
    link.download = downloadName;
    link.textContent = 'download full-resolution PNG';
    element.append(link);
  }
  $('#results').append(element);
  return element;
}

function addInputCards(job) {
  state.inputUrl = job.composite_url;
  const size = `${job.width}×${job.height}`;
  card(`input composite (${size})`, job.composite_url).dataset.role = 'composite';
  card('mask', job.mask_url).dataset.role = 'mask';
  if (job.real_url) { card('real image', job.real_url).dataset.role = 'real'; }
}

function describe(result) {
  let text = `${result.time_s.toFixed(2)} s · ${result.width}×${result.height}`;
  if (result.load_s > 0.05) { text += ` (+${result.load_s.toFixed(1)} s loading the model)`; }
  if (result.metrics) {
    const m = result.metrics;
    text += ` · fMSE ${m.fMSE.toFixed(1)} · PSNR ${m.PSNR.toFixed(2)} dB (${m.profile})`;
  }
  return text;
}

function addToComparison(result, label) {
  state.results.push(result);
  const option = document.createElement('option');
  option.value = result.url;
  option.textContent = label;
  $('#compare-model').append(option);
  if (state.results.length === 1) { showComparison(result.url); }
  $('#compare').classList.remove('hidden');
}

function showComparison(url) {
  $('#compare-before').src = state.inputUrl;
  $('#compare-after').src = url;
  splitComparison();
}

function splitComparison() {
  $('#compare-after-clip').style.clipPath = `inset(0 0 0 ${$('#compare-range').value}%)`;
}

// ------------------------------------------------------------------------------------------- harmonize
async function prepareInputs() {
  if (state.mode === 'sample') {
    const job = await api('/api/inputs', { sample: $('#sample-select').value });
    clearResults();
    addInputCards(job);
    return job;
  }
  if (state.mode === 'cutout') {
    if (state.composedJob && state.composedFor === placementKey()) { return state.composedJob; }
    return compose();
  }
  const [composite, mask] = await Promise.all([readFile($('#composite-file'), 'composite'),
                                               readFile($('#mask-file'), 'mask')]);
  const job = await api('/api/inputs', { composite, mask });
  clearResults();
  addInputCards(job);
  return job;
}

async function harmonize() {
  const models = [...document.querySelectorAll('.model-choice:checked')].map((box) => box.value);
  showError('');
  if (!models.length) { showError('choose at least one model'); return; }
  const strength = Number($('#strength').value);
  if ($('#strength').value === '' || !(strength >= 0 && strength <= 1)) {
    showError('strength must be a number from 0 to 1'); return;
  }
  const button = $('#harmonize-btn');
  button.disabled = true;
  try {
    setStatus('checking the inputs…');
    const job = await prepareInputs();
    for (const [index, model] of models.entries()) {
      setStatus(`running ${model} (${index + 1}/${models.length})…`);
      try {
        const result = await api('/api/harmonize', { job: job.job, model, strength });
        const label = strength === 1 ? model : `${model} at strength ${strength}`;
        const fileName = strength === 1 ? `${model}.png` : result.url.split('/').pop();
        card(label, result.url, { model, meta: describe(result), downloadName: fileName });
        addToComparison(result, label);
      } catch (error) {
        card(model, null, { model, meta: error.message, failed: true });
      }
    }
    setStatus(`done: ${models.length} model${models.length > 1 ? 's' : ''}`);
  } catch (error) {
    setStatus('');
    showError(error.message);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------------------------------------ start
function start() {
  for (const tab of document.querySelectorAll('.tab')) { tab.addEventListener('click', () => setMode(tab.dataset.mode)); }
  for (const id of ['#pos-x', '#pos-y', '#scale']) { $(id).addEventListener('input', placementChanged); }
  $('#cutout-file').addEventListener('change', () => pickPlacementImage($('#cutout-file'), 'cutout'));
  $('#background-file').addEventListener('change', () => pickPlacementImage($('#background-file'), 'background'));
  $('#center-btn').addEventListener('click', centre);
  $('#compose-btn').addEventListener('click', async () => {
    showError('');
    try { await compose(); } catch (error) { showError(error.message); }
  });
  $('#harmonize-btn').addEventListener('click', harmonize);
  $('#compare-model').addEventListener('change', () => showComparison($('#compare-model').value));
  $('#compare-range').addEventListener('input', splitComparison);
  enableDragging();
  placementChanged();
  Promise.all([loadModels(), loadSamples()]).then(() => { document.body.dataset.ready = 'true'; })
    .catch((error) => showError(`the page could not reach harmony app: ${error.message}`));
}

start();
