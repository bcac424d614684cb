// Contents: index points beside the transcript.
import { clock, parseClock } from "../lib/clock.js";
import { tr } from "../lib/i18n.js";
import { api, checked, data, esc, offsets, player, request } from "./page.js";
import { loaded, playAt } from "./playback.js";
import { act } from "./tools.js";

// Contents: index points beside the transcript.
const contentsList = document.getElementById("contents-list");

export function showContents() {
  data.contents.sort(function (a, b) { return a.time - b.time; });
  contentsList.innerHTML = data.contents.map(function (p) {
    return '<li><button type="button" class="link-button" data-seek="' + p.time + '">' + clock(p.time) + " " + esc(p.title) + "</button>" +
      (p.keywords.length ? '<br><span class="small muted">' + esc(p.keywords.join(", ")) + "</span>" : "") +
      (p.synopsis ? '<p class="small">' + esc(p.synopsis) + "</p>" : "") +
      ' <button type="button" class="link-button small" data-remove="' + p.id + '">' + esc(tr("remove")) + "</button></li>";
  }).join("");
  document.getElementById("contents-empty").hidden = data.contents.length > 0;
}

function absolute() { return loaded === null ? 0 : (offsets[loaded] || 0) + player.currentTime; }

contentsList.addEventListener("click", function (event) {
  var seek = event.target.closest("[data-seek]");
  var remove = event.target.closest("[data-remove]");
  if (seek) {
    var t = Number(seek.dataset.seek), recording = data.recordings[0];
    data.recordings.forEach(function (r) { if (offsets[r.id] <= t) { recording = r; } });
    playAt(recording.id, t - offsets[recording.id]);
  } else if (remove) {
    var id = Number(remove.dataset.remove);
    act(request("DELETE", api + "/interviews/" + data.interview + "/index-points/" + id).then(checked).then(function () {
      data.contents = data.contents.filter(function (p) { return p.id !== id; });
      showContents();
    }));
  }
});

const pointForm = document.getElementById("point-form");
let pointTime = document.getElementById("point-time"), pointTimeTyped = false;
// The toggle event arrives after the click that opened the form: a time
// typed in between is the person's choice and is not overwritten.
pointTime.addEventListener("input", function () { pointTimeTyped = true; });
pointForm.closest("details").addEventListener("toggle", function (event) {
  if (event.target.open && !pointTimeTyped) { pointTime.value = clock(absolute()); }
});
pointForm.addEventListener("submit", function (event) {
  event.preventDefault();
  var message = document.getElementById("point-message");
  var body = {
    time: parseClock(document.getElementById("point-time").value),
    title: document.getElementById("point-title").value,
    keywords: document.getElementById("point-keywords").value,
    synopsis: document.getElementById("point-synopsis").value
  };
  request("POST", api + "/interviews/" + data.interview + "/index-points", body).then(checked).then(function (json) {
    data.contents.push({ id: json.id, time: body.time, title: body.title.trim(), synopsis: body.synopsis.trim(),
      keywords: body.keywords.split(",").map(function (k) { return k.trim(); }).filter(Boolean) });
    showContents();
    pointForm.reset();
    pointTimeTyped = false;
    pointTime.value = clock(absolute());
    message.textContent = tr("Added.");
  }).catch(function (error) { message.textContent = error.message; });
});
