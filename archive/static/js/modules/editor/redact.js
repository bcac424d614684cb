// Redaction from a selection.
import { tr } from "../lib/i18n.js";
import { rangeOffsets } from "./caret.js";
import { api, checked, request } from "./page.js";
import { rerender } from "./render.js";
import { say, segOf, settle } from "./tools.js";

// Redaction from a selection.
export const redactDialog = document.getElementById("redact-dialog");
let redactTarget = null;

export function openRedact() {
  var selection = window.getSelection();
  var seg = selection.rangeCount ? segOf(selection.anchorNode.parentNode) : null;
  if (!seg || selection.isCollapsed || !seg.text.contains(selection.focusNode)) {
    say(tr("Select the words to redact inside one segment first."));
    return;
  }
  var range = selection.getRangeAt(0);
  redactTarget = { seg: seg, offsets: rangeOffsets(seg.text, range) };
  document.getElementById("redact-preview").textContent = range.toString();
  document.getElementById("redact-message").textContent = "";
  document.getElementById("redact-reason").value = "";
  redactDialog.showModal();
}

document.getElementById("redact-cancel").addEventListener("click", function () { redactDialog.close(); });
document.getElementById("redact-form").addEventListener("submit", function (event) {
  event.preventDefault();
  var reason = document.getElementById("redact-reason").value.trim();
  var message = document.getElementById("redact-message");
  if (!reason) { message.textContent = tr("Give a reason; it is kept with the redaction."); return; }
  var target = redactTarget;
  settle(target.seg).then(function () {
    return request("POST", api + "/segments/" + target.seg.view.id + "/redactions", {
      rendered: true,
      start: target.offsets[0],
      end: target.offsets[1],
      reason: reason,
      replacement: document.getElementById("redact-replacement").value.trim() || undefined,
      version: target.seg.view.v
    });
  }).then(checked).then(function (json) {
    target.seg.view = json.segment;
    rerender(target.seg);
    redactDialog.close();
    say(tr("Redacted. The listening copy is being remade."));
  }).catch(function (error) { message.textContent = error.message; });
});
