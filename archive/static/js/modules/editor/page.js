// The editor's page: its payload, elements and the archive's JSON API.
import { tr } from "../lib/i18n.js";

export const root = document.getElementById("editor");
export const data = JSON.parse(document.getElementById("editor-data").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
export const list = document.getElementById("segments");
export const player = document.getElementById("player");
export const audioBase = root.dataset.audio;
export const api = root.dataset.api;
export const storeKey = "archive-editor-" + data.interview;
export const SAVE_DELAY = 700;

export const speakers = {};
data.speakers.forEach(function (s) { speakers[s.id] = s; });
export const offsets = {};
let total = 0;
data.recordings.forEach(function (r) { offsets[r.id] = total; total += r.duration || 0; });

export const segs = data.segments.map(function (view) { return { view: view, el: null, saved: null }; });
export const byId = {};

export function esc(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function speakerName(id) {
  var s = speakers[id];
  return s ? s.name : "…";
}

export function request(method, url, body) {
  return fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (json) {
      return { status: response.status, ok: response.ok, json: json };
    });
  });
}

export function checked(result) {
  if (!result.ok) { throw new Error(result.json.error || result.json.message || tr("The archive refused (%(status)s).", { status: result.status })); }
  return result.json;
}
