// The transcript editor: the whole transcript from one payload, synced to the audio,
// edited in place and saved segment by segment. Hidden words (names, redactions) are
// fixed labels the editor cannot change; it sends {"hidden": n} in their place and
// the server puts the stored words back. A change that cannot be saved stays in the
// page and in localStorage and is sent again; nothing is dropped without a word.
//
// One module per part of the page, loaded from here (review/editor.html). Each wires
// its own elements when it is first imported; this one starts the page.
import "./keys.js";
import "./history.js";
import "./redact.js";
import { showContents } from "./contents.js";
import { showRisks } from "./navigation.js";
import { audioBase, segs } from "./page.js";
import { startWith } from "./playback.js";
import { renderAll } from "./render.js";
import { restorePending } from "./saving.js";
import { renderSpeakers } from "./speakers.js";
import { showWorkflow } from "./workflow.js";

renderSpeakers();
showWorkflow();
showContents();
if (segs.length && audioBase) { startWith(segs[0].view.r); }
renderAll(function () {
  showRisks();
  restorePending();
  document.documentElement.dataset.editorReady = String(performance.now());
});
