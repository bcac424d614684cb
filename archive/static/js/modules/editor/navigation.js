// Moving through the transcript: uncertain words, segments, the review queue.
import { clock } from "../lib/clock.js";
import { tr, trn } from "../lib/i18n.js";
import { setCaret } from "./caret.js";
import { byId, data, esc, list, segs } from "./page.js";
import { playAt } from "./playback.js";
import { current, say, segOf, setCurrent } from "./tools.js";

// Next / previous uncertain word.
export function uncertain(direction) {
  var all = Array.prototype.slice.call(list.querySelectorAll(".w.unsure"));
  if (!all.length) { say(tr("No uncertain words are left.")); return; }
  var selection = window.getSelection();
  var anchor = selection.rangeCount ? selection.getRangeAt(0) : null;
  var chosen = null;
  for (var i = 0; i < all.length; i++) {
    var index = direction > 0 ? i : all.length - 1 - i;
    var el = all[index];
    if (!anchor) { chosen = el; break; }
    var position = anchor.comparePoint(el, 0);
    if ((direction > 0 && position > 0) || (direction < 0 && position < 0 && !el.contains(anchor.startContainer))) { chosen = el; break; }
  }
  chosen = chosen || all[direction > 0 ? 0 : all.length - 1];
  var seg = segOf(chosen);
  seg.text.focus();
  var range = document.createRange();
  range.selectNodeContents(chosen);
  selection.removeAllRanges();
  selection.addRange(range);
  chosen.scrollIntoView({ block: "center" });
  setCurrent(seg);
  var w = seg.view.w[Number(chosen.dataset.w)];
  if (w) { playAt(seg.view.r, w[2] - 0.5); }
}

export function moveSegment(direction) {
  var index = current ? segs.indexOf(current) : -1;
  var next = segs[Math.min(Math.max(index + direction, 0), segs.length - 1)];
  if (!next) { return; }
  next.text.focus();
  setCaret(next.text, 0);
  next.el.scrollIntoView({ block: "nearest" });
  setCurrent(next);
}

// ---- the review queue: segments to check first, riskiest first -----------------
const RISK_WORDS = {
  doubted: "possible hallucination",
  unsure_words: "many uncertain words",
  low_confidence: "low confidence",
  short_turn: "short turn between speakers"
};
const riskList = document.getElementById("risk-list");
export let riskCursor = -1;

export function showRisks() {
  var risks = (data.risks || []).filter(function (risk) { return byId[risk[0]]; });
  document.getElementById("risk-count").textContent = risks.length ?
    trn("%(num)s segment to check first (Alt+R: the next one).", "%(num)s segments to check first (Alt+R: the next one).", risks.length) :
    tr("Nothing stands out: no segment is doubted or full of uncertain words.");
  riskList.innerHTML = risks.slice(0, 50).map(function (risk, index) {
    var seg = byId[risk[0]];
    var why = risk[2].map(function (reason) { return RISK_WORDS[reason] ? tr(RISK_WORDS[reason]) : reason; }).join(", ");
    return '<li><button type="button" class="link-button" data-risk="' + index + '">' +
      clock(seg.view.s) + " · " + esc(why) + "</button></li>";
  }).join("");
}

export function goToRisk(index) {
  var risks = (data.risks || []).filter(function (risk) { return byId[risk[0]]; });
  if (!risks.length) { say(tr("Nothing is left to check first.")); return; }
  riskCursor = ((index % risks.length) + risks.length) % risks.length;
  var seg = byId[risks[riskCursor][0]];
  seg.text.focus();
  setCaret(seg.text, 0);
  seg.el.scrollIntoView({ block: "center" });
  setCurrent(seg);
  playAt(seg.view.r, Math.max(0, seg.view.s - 0.5));
}

riskList.addEventListener("click", function (event) {
  var button = event.target.closest("[data-risk]");
  if (button) { goToRisk(Number(button.dataset.risk)); }
});

export function playFromCaret() {
  var selection = window.getSelection();
  var node = selection.rangeCount ? selection.anchorNode : null;
  var seg = node ? segOf(node.nodeType === 3 ? node.parentNode : node) : current;
  if (!seg) { return; }
  var word = node && (node.nodeType === 3 ? node.parentNode : node).closest(".w");
  var w = word ? seg.view.w[Number(word.dataset.w)] : null;
  playAt(seg.view.r, w ? w[2] : seg.view.s);
}
