// Speakers: a list for the segment, and renaming once for the whole interview.
import { tr } from "../lib/i18n.js";
import { api, byId, checked, data, esc, request, segs, speakerName, speakers } from "./page.js";
import { flush, queue } from "./saving.js";
import { act, say } from "./tools.js";

// Speakers: a list for the segment, and renaming once for the whole interview.
export const menu = document.getElementById("speaker-menu");

export function openSpeakers(seg, anchor) {
  menu.innerHTML = data.speakers.map(function (s) {
    return '<button type="button" role="menuitemradio" aria-checked="' + (s.id === seg.view.sp) + '" data-speaker="' + s.id + '">' + esc(s.name) + "</button>";
  }).join("");
  var box = anchor.getBoundingClientRect();
  menu.style.top = (window.scrollY + box.bottom + 4) + "px";
  menu.style.left = (window.scrollX + box.left) + "px";
  menu.hidden = false;
  menu.dataset.segment = seg.view.id;
  var chosen = menu.querySelector('[aria-checked="true"]') || menu.firstChild;
  if (chosen) { chosen.focus(); }
}

menu.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-speaker]");
  if (!button) { return; }
  var seg = byId[menu.dataset.segment];
  var id = Number(button.dataset.speaker);
  menu.hidden = true;
  if (seg && id !== seg.view.sp) {
    seg.view.sp = id;
    seg.el.querySelector(".seg-speaker").textContent = speakerName(id);
    queue(seg, { speaker_id: id });
    flush();
  }
  if (seg) { seg.text.focus(); }
});
menu.addEventListener("keydown", function (event) {
  var items = Array.prototype.slice.call(menu.querySelectorAll("button"));
  var at = items.indexOf(document.activeElement);
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    var next = items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length];
    if (next) { next.focus(); }
  } else if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation();
    menu.hidden = true;
    var seg = byId[menu.dataset.segment];
    if (seg) { seg.text.focus(); }
  }
});
document.addEventListener("click", function (event) {
  if (!menu.hidden && !menu.contains(event.target) && !event.target.closest("[data-act=speaker]")) { menu.hidden = true; }
});

export function renderSpeakers() {
  var ul = document.getElementById("speaker-list");
  ul.innerHTML = data.speakers.map(function (s) {
    var role = s.role && s.role !== "other" ? ' <span class="small muted">' + esc(tr(s.role)) + "</span>" : "";
    if (!data.can_rename) { return "<li>" + esc(s.name) + role + "</li>"; }
    return '<li><form class="rename" data-speaker="' + s.id + '"><label class="visually-hidden" for="rename-' + s.id + '">' + esc(tr("Name of %(speaker)s", { speaker: s.label })) + "</label>" +
      '<input id="rename-' + s.id + '" value="' + esc(s.pseudonym || s.label).replace(/"/g, "&quot;") + '" maxlength="120">' +
      '<button type="submit">' + esc(tr("Rename")) + "</button>" + role + "</form></li>";
  }).join("");
}

document.getElementById("speaker-list").addEventListener("submit", function (event) {
  event.preventDefault();
  var form = event.target;
  var id = Number(form.dataset.speaker);
  var name = form.querySelector("input").value.trim();
  act(request("PATCH", api + "/interviews/" + data.interview + "/speakers/" + id, { pseudonym: name }).then(checked).then(function (json) {
    speakers[id].name = json.name;
    speakers[id].pseudonym = json.pseudonym;
    segs.forEach(function (seg) {
      if (seg.view.sp === id) { seg.el.querySelector(".seg-speaker").textContent = json.name; }
    });
    say(tr("Renamed everywhere in this interview: %(name)s.", { name: json.name }));
  }));
});
