// Saving: a queue that survives failures and reloads.
import { tr } from "../lib/i18n.js";
import { partsOf } from "./caret.js";
import { showRisks } from "./navigation.js";
import { SAVE_DELAY, api, byId, checked, data, esc, request, storeKey } from "./page.js";
import { indexTimes } from "./playback.js";
import { rerender } from "./render.js";
import { say, settle, showCurrent } from "./tools.js";

// ---- saving: a queue that survives failures and reloads ---------------------------
export const pending = {};      // segment id -> fields to PATCH (parts, speaker_id, start, end)
export const timers = {};
let inFlight = false;
let retryDelay = 0;
let retryTimer = null;
const statusEl = document.getElementById("save-status");
const retryButton = document.getElementById("save-retry");

function remember() {
  var keys = Object.keys(pending);
  try {
    if (keys.length) { localStorage.setItem(storeKey, JSON.stringify(pending)); }
    else { localStorage.removeItem(storeKey); }
  } catch (e) { /* private mode: the page still holds them */ }
}

function showStatus(message, trouble) {
  statusEl.textContent = message;
  statusEl.classList.toggle("trouble", !!trouble);
  retryButton.hidden = !trouble;
}

export function queue(seg, fields) {
  var entry = pending[seg.view.id] || {};
  Object.keys(fields).forEach(function (k) { entry[k] = fields[k]; });
  entry.version = seg.domVersion;
  pending[seg.view.id] = entry;
  remember();
  markSegment(seg, "unsaved", tr("not saved yet"));
  showStatus(tr("%(num)s change(s) waiting to be saved…", { num: countPending() }));
}

function countPending() { return Object.keys(pending).length; }

export function markSegment(seg, state, label) {
  if (!seg || !seg.el) { return; }
  seg.el.dataset.state = state || "";
  seg.el.querySelector(".seg-state").textContent = label || "";
}

export function textChanged(seg) {
  clearTimeout(timers[seg.view.id]);
  var parts = partsOf(seg.text);
  var json = JSON.stringify(parts);
  if (json === seg.saved && !(pending[seg.view.id] && pending[seg.view.id].parts)) { return; }
  queue(seg, { parts: parts });
  timers[seg.view.id] = setTimeout(flush, SAVE_DELAY);
}


export function flush() {
  if (inFlight) { return Promise.resolve(); }
  var ids = Object.keys(pending);
  if (!ids.length) { showStatus(tr("All changes saved.")); return Promise.resolve(); }
  var id = ids[0];
  var seg = byId[id];
  var fields = pending[id];
  var sentJson = JSON.stringify(fields);
  var body = fields;
  inFlight = true;
  showStatus(tr("Saving…"));
  if (seg) { markSegment(seg, "saving", tr("saving…")); }
  return request("PATCH", api + "/segments/" + id, body).then(function (result) {
    inFlight = false;
    if (result.ok) {
      retryDelay = 0;
      if (JSON.stringify(pending[id]) === sentJson) { delete pending[id]; }
      remember();
      if (seg) { saved(seg, result.json.segment); }
      return flush();
    }
    if (result.status === 409) { return conflict(seg, fields); }
    if (result.status >= 500 || result.status === 429 || result.status === 0) { return later(tr("the server did not answer (%(status)s)", { status: result.status })); }
    // The archive refused the change: keep it on the page and say why.
    delete pending[id];
    remember();
    markSegment(seg, "refused", tr("not saved: %(why)s", { why: result.json.error || result.json.message || tr("refused") }));
    showStatus(tr("A change was refused; it is still on the page (see the segment)."), true);
    return flush();
  }, function () {
    inFlight = false;
    if (seg) { markSegment(seg, "unsaved", tr("not saved yet")); }
    return later(navigator.onLine === false ? tr("you are offline") : tr("the archive could not be reached"));
  });
}

function later(why) {
  retryDelay = Math.min(retryDelay ? retryDelay * 2 : 2, 30);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(flush, retryDelay * 1000);
  showStatus(tr("%(num)s change(s) not saved: %(why)s. Trying again in %(delay)s s; they are kept in this browser meanwhile.", { num: countPending(), why: why, delay: retryDelay }), true);
}

function layout(view) {
  return JSON.stringify(view.h.map(function (h) { return [view.t.slice(h[0], h[1]), h[4]]; }));
}

function saved(seg, view) {
  var sameLabels = layout(seg.view) === layout(view);
  seg.view = view;
  if (!pending[view.id]) {
    rerender(seg);
    markSegment(seg, "", "");
  } else if (sameLabels) {
    // Typed on while it was saving: the labels on the page still match, so what
    // is waiting may be sent against the new version.
    seg.domVersion = view.v;
    pending[view.id].version = view.v;
    remember();
  }
  indexTimes();
  showCurrent();
}

export function confirmDoubt(seg) {
  settle(seg).then(function () {
    return request("POST", api + "/segments/" + seg.view.id + "/confirm", { version: seg.view.v });
  }).then(checked).then(function (json) {
    seg.view = json.segment;
    rerender(seg);
    data.risks = (data.risks || []).filter(function (risk) {
      if (risk[0] !== seg.view.id) { return true; }
      risk[2] = risk[2].filter(function (reason) { return reason !== "doubted"; });
      return risk[2].length > 0;
    });
    showRisks();
    say(tr("Confirmed: readers, search and exports now include this segment."));
  }).catch(function (error) { say(error.message); });
}

function conflict(seg, fields) {
  delete pending[seg.view.id];
  remember();
  return request("GET", api + "/segments/" + seg.view.id).then(function (result) {
    var mine = seg.text.textContent;
    if (result.ok) { seg.view = result.json.segment; rerender(seg); }
    var box = document.createElement("div");
    box.className = "conflict";
    box.setAttribute("role", "alert");
    box.innerHTML = "<p><strong>" + esc(tr("Someone else changed this segment.")) + "</strong> " + esc(tr("Theirs is shown above; yours was:")) + "</p><blockquote></blockquote>" +
      '<button type="button" data-act="dismiss">' + esc(tr("I have merged them")) + "</button>";
    box.querySelector("blockquote").textContent = mine;
    seg.el.appendChild(box);
    markSegment(seg, "refused", tr("changed elsewhere"));
    showStatus(tr("A segment was changed by someone else; your text is shown beside it."), true);
    return flush();
  });
}

export function restorePending() {
  var stored;
  try { stored = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { stored = {}; }
  Object.keys(stored).forEach(function (id) {
    var seg = byId[id];
    if (!seg) { return; }
    pending[id] = stored[id];
    if (stored[id].parts) {
      seg.text.innerHTML = stored[id].parts.map(function (part) {
        if (typeof part === "string") { return esc(part); }
        var h = seg.view.h[part.hidden];
        var label = h ? esc(seg.view.t.slice(h[0], h[1])) : "[hidden]";
        return '<span class="chip" contenteditable="false" data-h="' + part.hidden + '">' + label + "</span>";
      }).join("");
    }
    if (stored[id].version !== undefined) { seg.domVersion = stored[id].version; }
    markSegment(seg, "unsaved", tr("not saved yet (kept from before)"));
  });
  if (countPending()) { showStatus(tr("%(num)s change(s) from an earlier visit are being saved…", { num: countPending() }), true); flush(); }
}

retryButton.addEventListener("click", function () { clearTimeout(retryTimer); retryDelay = 0; flush(); });
window.addEventListener("online", function () { clearTimeout(retryTimer); flush(); });
window.addEventListener("beforeunload", function (event) {
  if (countPending()) { event.preventDefault(); event.returnValue = ""; }
});
