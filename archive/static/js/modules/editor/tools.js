// The current segment and its tools: split, merge, nudge.
import { clock } from "../lib/clock.js";
import { tr } from "../lib/i18n.js";
import { caretOffset, partsOf, setCaret } from "./caret.js";
import { SAVE_DELAY, api, byId, checked, list, request, segs, speakerName } from "./page.js";
import { indexTimes } from "./playback.js";
import { attach, itemHtml, rerender } from "./render.js";
import { flush, pending, queue, timers } from "./saving.js";

// ---- the current segment and its tools ------------------------------------------
export let current = null;
const toolMessage = document.getElementById("tool-message");

export function setCurrent(seg) {
  if (current === seg) { return; }
  if (current && current.el) { current.el.classList.remove("focus"); }
  current = seg;
  if (seg) { seg.el.classList.add("focus"); }
  showCurrent();
}

export function showCurrent() {
  var label = document.getElementById("current-label");
  if (!current) { return; }
  var v = current.view;
  label.textContent = speakerName(v.sp) + ", " + clock(v.s) + " to " + clock(v.e) + " (version " + v.v + ")";
  document.getElementById("seg-start").textContent = clock(v.s, true);
  document.getElementById("seg-end").textContent = clock(v.e, true);
}

export function segOf(node) {
  var li = node && node.closest ? node.closest("li.seg") : null;
  return li ? byId[li.dataset.id] : null;
}

export function say(message) { toolMessage.textContent = message || ""; }

export function needCurrent() {
  if (!current) { say(tr("Click into a segment first.")); return false; }
  return true;
}

export function settle(seg) {
  // Structural changes act on the saved text: send what is waiting first.
  clearTimeout(timers[seg.view.id]);
  if (JSON.stringify(partsOf(seg.text)) !== seg.saved) { queue(seg, { parts: partsOf(seg.text) }); }
  return flush().then(function () {
    if (pending[seg.view.id]) { throw new Error(tr("This segment has changes that are not saved yet; try again when they are.")); }
  });
}

export function act(promise) {
  say("");
  return promise.catch(function (error) { say(error.message); });
}


export function split() {
  if (!needCurrent()) { return; }
  var seg = current;
  if (caretOffset(seg.text) === null) { say(tr("Put the cursor where the segment should be split.")); return; }
  act(settle(seg).then(function () {
    // After saving, the page shows the stored rendering: the cursor counts in it.
    var at = caretOffset(seg.text);
    return request("POST", api + "/segments/" + seg.view.id + "/split", { at: at, version: seg.view.v });
  }).then(checked).then(function (json) {
    seg.view = json.segments[0];
    rerender(seg);
    var tail = { view: json.segments[1], el: null, saved: null };
    segs.splice(segs.indexOf(seg) + 1, 0, tail);
    var holder = document.createElement("ol");
    holder.innerHTML = itemHtml(tail);
    list.insertBefore(holder.firstChild, seg.el.nextSibling);
    attach(tail, seg.el.nextSibling);
    indexTimes();
    tail.text.focus();
    setCaret(tail.text, 0);
    setCurrent(tail);
    say(tr("Split: the second part starts at %(time)s.", { time: clock(tail.view.s, true) }));
  }));
}

export function merge() {
  if (!needCurrent()) { return; }
  var seg = current;
  var index = segs.indexOf(seg);
  var next = segs[index + 1];
  act((next ? settle(next) : Promise.resolve()).then(function () { return settle(seg); }).then(function () {
    return request("POST", api + "/segments/" + seg.view.id + "/merge", { version: seg.view.v });
  }).then(checked).then(function (json) {
    var gone = byId[json.removed];
    if (gone) {
      segs.splice(segs.indexOf(gone), 1);
      gone.el.remove();
      delete byId[json.removed];
    }
    seg.view = json.segment;
    rerender(seg);
    indexTimes();
    showCurrent();
    say(tr("Merged with the next segment."));
  }));
}

export function nudge(field, delta) {
  if (!needCurrent()) { return; }
  var v = current.view;
  var value = Math.round((v[field === "start" ? "s" : "e"] + delta) * 1000) / 1000;
  var next = field === "start" ? { start: value } : { end: value };
  if ((field === "start" ? value >= v.e : value <= v.s) || value < 0) { say(tr("Start must stay before the end.")); return; }
  v[field === "start" ? "s" : "e"] = value;
  queue(current, next);
  showCurrent();
  clearTimeout(timers.nudge);
  timers.nudge = setTimeout(flush, SAVE_DELAY);
}
