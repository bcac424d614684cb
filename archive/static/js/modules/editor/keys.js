// Events on the transcript, the tool buttons and the keyboard.
import { tr } from "../lib/i18n.js";
import { partsOf } from "./caret.js";
import { showHistory } from "./history.js";
import { goToRisk, moveSegment, playFromCaret, riskCursor, uncertain } from "./navigation.js";
import { list } from "./page.js";
import { playAt, skip, speed, togglePlay } from "./playback.js";
import { openRedact, redactDialog } from "./redact.js";
import { complete } from "./render.js";
import { confirmDoubt, flush, markSegment, textChanged, timers } from "./saving.js";
import { menu, openSpeakers } from "./speakers.js";
import { current, merge, nudge, say, segOf, setCurrent, split } from "./tools.js";

// ---- events -----------------------------------------------------------------------
list.addEventListener("input", function (event) {
  var seg = segOf(event.target);
  if (seg) { textChanged(seg); }
});
list.addEventListener("focusin", function (event) {
  var seg = segOf(event.target);
  if (seg) { setCurrent(seg); }
});
list.addEventListener("focusout", function (event) {
  var seg = segOf(event.target);
  if (seg && JSON.stringify(partsOf(seg.text)) !== seg.saved) { clearTimeout(timers[seg.view.id]); textChanged(seg); flush(); }
});
list.addEventListener("paste", function (event) {
  // Plain text only: formatting from elsewhere has no place in a transcript.
  event.preventDefault();
  var text = (event.clipboardData || window.clipboardData).getData("text/plain").replace(/\s+/g, " ");
  document.execCommand("insertText", false, text);
});
list.addEventListener("click", function (event) {
  var seg = segOf(event.target);
  if (!seg) { return; }
  var button = event.target.closest("[data-act]");
  if (button && button.dataset.act === "play") { playAt(seg.view.r, seg.view.s); return; }
  if (button && button.dataset.act === "speaker") { setCurrent(seg); openSpeakers(seg, button); return; }
  if (button && button.dataset.act === "dismiss") { button.parentNode.remove(); markSegment(seg, "", ""); return; }
  if (button && button.dataset.act === "confirm") { confirmDoubt(seg); return; }
  var word = event.target.closest(".w");
  if (word && window.getSelection().isCollapsed) {
    var w = seg.view.w[Number(word.dataset.w)];
    if (w) { playAt(seg.view.r, w[2]); }
  }
});

document.querySelectorAll("[data-tool]").forEach(function (button) {
  button.addEventListener("mousedown", function (event) { event.preventDefault(); }); // keep the caret
  button.addEventListener("click", function () {
    var tool = button.dataset.tool;
    if (tool === "split") { split(); }
    else if (tool === "merge") { merge(); }
    else if (tool === "redact") { openRedact(); }
    else if (tool === "history") { showHistory(); }
    else { nudge(tool.slice(0, -1), tool.slice(-1) === "+" ? 0.1 : -0.1); }
  });
});

const help = document.getElementById("help");
document.getElementById("help-open").addEventListener("click", function () { help.showModal(); });

document.addEventListener("keydown", function (event) {
  if (!complete) { return; }
  if (redactDialog.open || (help.open && event.key !== "Escape")) { return; }
  if (help.open) { return; }
  var key = event.key, handled = true;
  if (key === "Escape" && !menu.hidden) { return; }
  if (key === "Escape") { togglePlay(); }
  else if (key === "F1") { skip(-3); }
  else if (key === "F2") { skip(3); }
  else if (key === "F3") { speed(-0.1); }
  else if (key === "F4") { speed(0.1); }
  else if (key === "F8") { uncertain(event.shiftKey ? -1 : 1); }
  else if (event.altKey && key === "ArrowDown") { moveSegment(1); }
  else if (event.altKey && key === "ArrowUp") { moveSegment(-1); }
  else if (event.ctrlKey && key === "Enter") { split(); }
  else if (event.ctrlKey && !event.shiftKey && (key === "m" || key === "M")) { merge(); }
  else if (event.ctrlKey && event.shiftKey && (key === "x" || key === "X")) { openRedact(); }
  else if (event.ctrlKey && key === " ") { playFromCaret(); }
  else if (event.ctrlKey && key === "/") { help.showModal(); }
  else if (event.altKey && event.code === "KeyS") { if (current) { openSpeakers(current, current.el.querySelector(".seg-speaker")); } }
  else if (event.altKey && event.code === "KeyH") { showHistory(); }
  else if (event.altKey && event.code === "KeyR") { goToRisk(riskCursor + (event.shiftKey ? -1 : 1)); }
  else if (event.altKey && event.code === "BracketLeft") { nudge(event.shiftKey ? "end" : "start", -0.1); }
  else if (event.altKey && event.code === "BracketRight") { nudge(event.shiftKey ? "end" : "start", 0.1); }
  else if (key === "Enter" && segOf(event.target)) { say(tr("Enter does not break a segment: Ctrl+Enter splits it at the cursor.")); }
  else { handled = false; }
  if (handled) { event.preventDefault(); }
});
