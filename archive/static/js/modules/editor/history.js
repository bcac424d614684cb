// History: each version of a segment with what changed, and restoring one.
import { clock } from "../lib/clock.js";
import { LOCALE, tr } from "../lib/i18n.js";
import { api, byId, checked, esc, request, speakerName } from "./page.js";
import { indexTimes } from "./playback.js";
import { rerender } from "./render.js";
import { act, current, needCurrent, say, setCurrent, settle, showCurrent } from "./tools.js";

// History: each version with what changed, and restoring one.
const historyBox = document.getElementById("history");
const historyList = document.getElementById("history-list");

export function words(text) { return text.split(/(\s+)/).filter(function (t) { return t !== ""; }); }

function diffHtml(before, after) {
  // Word diff by longest common subsequence: segments are short.
  var a = words(before), b = words(after), n = a.length, m = b.length;
  var table = [];
  for (var i = 0; i <= n; i++) { table.push(new Array(m + 1).fill(0)); }
  for (i = n - 1; i >= 0; i--) {
    for (var j = m - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  var out = "";
  i = 0; j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out += esc(a[i]); i++; j++; }
    else if (j < m && (i === n || table[i][j + 1] >= table[i + 1][j])) { out += "<ins>" + esc(b[j]) + "</ins>"; j++; }
    else { out += "<del>" + esc(a[i]) + "</del>"; i++; }
  }
  return out;
}

export function showHistory() {
  if (!needCurrent()) { return; }
  var seg = current;
  historyBox.hidden = false;
  historyList.innerHTML = "<li>" + esc(tr("Loading…")) + "</li>";
  act(request("GET", api + "/segments/" + seg.view.id + "/revisions").then(checked).then(function (json) {
    var revisions = json.revisions;
    historyList.dataset.segment = seg.view.id;
    historyList.innerHTML = revisions.map(function (r, index) {
      var older = revisions[index + 1];
      var kind = { edit: "edited", restore: "restored", split: "split", merge: "merged", joined: "came with a merge", machine: "machine transcript" }[r.kind];
      kind = kind ? tr(kind) : r.kind;
      return '<li><p class="small"><strong>' + esc(tr("Version %(version)s", { version: r.version })) + "</strong> · " + esc(kind) + " · " + esc(r.author) + " · " +
        esc(new Date(r.at).toLocaleString(LOCALE)) + " · " + clock(r.start, true) + "–" + clock(r.end, true) +
        (r.speaker_id !== (older ? older.speaker_id : r.speaker_id) ? " · " + esc(tr("speaker %(name)s", { name: speakerName(r.speaker_id) })) : "") + "</p>" +
        '<p class="diff">' + (older ? diffHtml(older.text, r.text) : esc(r.text)) + "</p>" +
        (index === 0 ? '<p class="small muted">' + esc(tr("This is the current version.")) + "</p>" : '<button type="button" data-restore="' + r.version + '">' + esc(tr("Restore version %(version)s", { version: r.version })) + "</button>") + "</li>";
    }).join("");
  }));
}

historyList.addEventListener("click", function (event) {
  var button = event.target.closest("[data-restore]");
  if (!button) { return; }
  var seg = byId[historyList.dataset.segment];
  if (!seg) { return; }
  act(settle(seg).then(function () {
    return request("POST", api + "/segments/" + seg.view.id + "/restore", { version: Number(button.dataset.restore) });
  }).then(checked).then(function (json) {
    seg.view = json.segment;
    rerender(seg);
    indexTimes();
    showCurrent();
    setCurrent(seg);
    say("Restored as version " + seg.view.v + ".");
    showHistory();
  }));
});
document.getElementById("history-close").addEventListener("click", function () { historyBox.hidden = true; });
