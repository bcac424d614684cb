// Drawing segments: words, hidden labels, doubts, languages, translations.
import { clock } from "../lib/clock.js";
import { tr } from "../lib/i18n.js";
import { caretOffset, setCaret, viewParts } from "./caret.js";
import { byId, data, esc, list, root, segs, speakerName } from "./page.js";
import { indexTimes } from "./playback.js";
import { current } from "./tools.js";

// ---- rendering -------------------------------------------------------------------
const translationLabel = (data.translation && data.translation.label) || "Machine translation";

function textHtml(view) {
  // Words and labels in order; everything else (spaces, punctuation) as plain text.
  var marks = [];
  view.w.forEach(function (w, i) { marks.push([w[0], w[1], "w", i]); });
  view.h.forEach(function (h, i) { marks.push([h[0], h[1], "h", i]); });
  marks.sort(function (a, b) { return a[0] - b[0]; });
  var out = "", cursor = 0, text = view.t;
  marks.forEach(function (mark) {
    if (mark[0] < cursor) { return; }
    out += esc(text.slice(cursor, mark[0]));
    var inner = esc(text.slice(mark[0], mark[1]));
    if (mark[2] === "w") {
      var w = view.w[mark[3]];
      out += '<span class="w' + (w[4] < data.unsure ? " unsure" : "") + '" data-w="' + mark[3] + '">' + inner + "</span>";
    } else {
      var h = view.h[mark[3]];
      out += '<span class="chip chip-' + h[4] + '" contenteditable="false" data-h="' + mark[3] +
        '" title="' + esc(tr("Hidden (%(kind)s): it cannot be edited here", { kind: h[4] === "name" ? tr("a name") : tr("redacted") })) + '">' + inner + "</span>";
    }
    cursor = mark[1];
  });
  return out + esc(text.slice(cursor));
}


// Why the engine doubts a segment (view.x); readers do not see it until checked.
const DOUBTS = {
  loop: "the same words over and over",
  hotwords: "mostly the names the model was given",
  too_fast: "more words than the time allows"
};

function doubtHtml(v) {
  if (!v.x) { return ""; }
  return '<span class="seg-doubt" role="note">' +
    esc(tr("Possible hallucination (%(why)s): check the audio. Hidden from readers until corrected or confirmed.", { why: DOUBTS[v.x] ? tr(DOUBTS[v.x]) : v.x })) +
    ' <button type="button" data-act="confirm">' + esc(tr("It is what was said")) + "</button></span>";
}

// The language the segment was transcribed in: a small tag, and lang on its text
// so that spelling checks and screen readers use that language.
const LANG_RE = /^[a-z]{2,3}$/;
function langTag(v) {
  if (!v.l || !LANG_RE.test(v.l)) { return ""; }
  var label = (root.dataset.languageLabel || "Language") + " " + v.l;
  return ' <span class="seg-lang" title="' + esc(label) + '" aria-label="' + esc(label) + '">' + v.l + "</span>";
}
function langAttr(v) { return v.l && LANG_RE.test(v.l) ? ' lang="' + v.l + '"' : ""; }

export function itemHtml(seg) {
  var v = seg.view;
  return '<li class="seg' + (v.x ? " doubtful" : "") + '" data-id="' + v.id + '">' +
    '<div class="seg-meta"><button type="button" class="seg-time" data-act="play" tabindex="-1" title="' + esc(tr("Play from here")) + '">' +
    clock(v.s) + '</button> <button type="button" class="seg-speaker" data-act="speaker" tabindex="-1" title="' + esc(tr("Change the speaker (Alt+S)")) + '">' +
    esc(speakerName(v.sp)) + '</button>' + langTag(v) + '<span class="seg-state" aria-live="polite"></span>' + doubtHtml(v) + '</div>' + translationHtml(v) +
    '<div class="seg-text"' + langAttr(v) + ' contenteditable="true" spellcheck="true" role="textbox" aria-label="' +
    esc(tr("Segment at %(time)s", { time: clock(v.s) })) + '">' + textHtml(v) + "</div></li>";
}

// The machine translation, read-only, above the text it translates (the text stays
// the item's last child: ``attach`` finds it there).
function translationHtml(v) {
  if (v.tr === undefined || v.tr === null) { return ""; }
  return '<div class="seg-translation" lang="en"><span class="track-label">' +
    esc(translationLabel) + ':</span> ' + esc(v.tr) + "</div>";
}

// The first screenful is drawn at once and painted; the rest follows in chunks,
// so a 3-hour transcript is on screen in a moment and complete soon after.
const FIRST = 60, CHUNK = 400;
export let complete = false;

function append(from, upto) {
  list.insertAdjacentHTML("beforeend", segs.slice(from, upto).map(itemHtml).join(""));
  var items = list.children;
  for (var i = from; i < upto; i++) { attach(segs[i], items[i]); }
}

export function renderAll(done) {
  var next = Math.min(segs.length, FIRST);
  append(0, next);
  document.documentElement.dataset.editorFirst = String(performance.now());
  function more() {
    if (next >= segs.length) {
      indexTimes();
      complete = true;
      done();
      return;
    }
    var upto = Math.min(segs.length, next + CHUNK);
    append(next, upto);
    next = upto;
    setTimeout(more, 0);
  }
  requestAnimationFrame(function () {
    setTimeout(function () {
      // A frame has been painted with the first screenful (the benchmark reads this).
      document.documentElement.dataset.editorPainted = String(performance.now());
      more();
    }, 0);
  });
}

export function attach(seg, el) {
  seg.el = el;
  seg.text = el.lastElementChild;
  seg.saved = JSON.stringify(viewParts(seg.view));
  seg.domVersion = seg.view.v;  // the version whose hidden labels the page shows
  byId[seg.view.id] = seg;
}

export function rerender(seg) {
  var caret = document.activeElement === seg.text ? caretOffset(seg.text) : null;
  var holder = document.createElement("ol");
  holder.innerHTML = itemHtml(seg);
  var fresh = holder.firstChild;
  list.replaceChild(fresh, seg.el);
  attach(seg, fresh);
  if (current === seg) { fresh.classList.add("focus"); }
  if (caret !== null) { seg.text.focus(); setCaret(seg.text, caret); }
}
