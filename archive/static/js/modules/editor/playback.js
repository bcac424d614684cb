// Playback: the audio, the segment and word playing, the clock.
import { clock } from "../lib/clock.js";
import { tr } from "../lib/i18n.js";
import { audioBase, player, segs } from "./page.js";
import { complete } from "./render.js";
import { current } from "./tools.js";

// ---- playback ----------------------------------------------------------------------
export let loaded = null;
let playing = null;      // {seg, word}
let starts = {};         // recording id -> sorted segments

export function indexTimes() {
  starts = {};
  segs.forEach(function (seg) { (starts[seg.view.r] = starts[seg.view.r] || []).push(seg); });
  Object.keys(starts).forEach(function (r) {
    starts[r].sort(function (a, b) { return a.view.s - b.view.s; });
  });
}

// The first part is given to the player before anything is played.
export function startWith(recording) {
  player.src = audioBase + "?recording=" + recording;
  loaded = recording;
}

function load(recording, then) {
  if (!audioBase) { audioMessage(tr("You may not listen to this interview.")); return; }
  if (loaded === recording && player.readyState >= 1) { then(); return; }
  if (loaded !== recording) {
    loaded = recording;
    player.src = audioBase + "?recording=" + recording;
    var part = document.getElementById("part");
    if (part) { part.value = recording; }
  }
  player.addEventListener("loadedmetadata", then, { once: true });
  player.load();
}

function audioMessage(text) {
  var el = document.getElementById("audio-message");
  el.textContent = text;
  el.hidden = !text;
}

player.addEventListener("error", function () {
  audioMessage(tr("The listening copy is not ready (it is remade after each redaction). Try again in a minute."));
});
player.addEventListener("loadeddata", function () { audioMessage(""); });

export function playAt(recording, time, autoplay) {
  load(recording, function () {
    player.currentTime = Math.max(time, 0);
    if (autoplay !== false) { player.play().catch(function () {}); }
    track();
  });
}

function find(recording, t) {
  var list = starts[recording] || [];
  var lo = 0, hi = list.length - 1, found = null;
  while (lo <= hi) {
    var mid = (lo + hi) >> 1;
    if (list[mid].view.s <= t) { found = list[mid]; lo = mid + 1; } else { hi = mid - 1; }
  }
  return found && t < found.view.e + 0.3 ? found : null;
}

function wordAt(seg, t) {
  var words = seg.view.w, found = -1;
  for (var i = 0; i < words.length; i++) {
    if (words[i][2] <= t + 0.02) { found = i; } else { break; }
  }
  return found >= 0 && t <= words[found][3] + 0.25 ? found : -1;
}

const follow = document.getElementById("follow");
const clockEl = document.getElementById("clock");

function track() {
  if (!complete) { return; }
  var t = player.currentTime;
  clockEl.textContent = clock(t);
  var seg = loaded === null ? null : find(loaded, t);
  var word = seg ? wordAt(seg, t) : -1;
  if (playing && (playing.seg !== seg || playing.word !== word)) {
    if (playing.seg.el) {
      if (playing.seg !== seg) { playing.seg.el.classList.remove("playing"); }
      var old = playing.seg.el.querySelector(".w.now");
      if (old) { old.classList.remove("now"); }
    }
  }
  if (seg && (!playing || playing.seg !== seg)) {
    seg.el.classList.add("playing");
    var editing = document.activeElement && document.activeElement.classList.contains("seg-text");
    if (follow.checked && !editing) { keepInView(seg.el); }
  }
  if (seg && word >= 0) {
    var el = seg.el.querySelector('.w[data-w="' + word + '"]');
    if (el) { el.classList.add("now"); }
  }
  playing = seg ? { seg: seg, word: word } : null;
}

function keepInView(el) {
  var box = el.getBoundingClientRect();
  if (box.top < 80 || box.bottom > window.innerHeight - 40) { el.scrollIntoView({ block: "center" }); }
}

(function frame() {
  if (!player.paused) { track(); }
  window.requestAnimationFrame(frame);
})();
player.addEventListener("seeked", track);
player.addEventListener("ratechange", function () {
  document.getElementById("speed").textContent = player.playbackRate.toFixed(2);
});
const partSelect = document.getElementById("part");
if (partSelect) {
  partSelect.addEventListener("change", function () { load(Number(partSelect.value), function () {}); });
}

export function togglePlay() {
  if (loaded === null) {
    var seg = current || segs[0];
    if (seg) { playAt(seg.view.r, seg.view.s); }
    return;
  }
  if (player.paused) { player.play().catch(function () {}); } else { player.pause(); }
}

export function skip(seconds) {
  if (loaded === null) { return togglePlay(); }
  player.currentTime = Math.max(0, player.currentTime + seconds);
  track();
}

export function speed(step) {
  player.playbackRate = Math.min(2.5, Math.max(0.5, Math.round((player.playbackRate + step) * 100) / 100));
}
