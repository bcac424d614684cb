// A small IIIF Presentation 3 audio player: it reads the interview's manifest, as any
// IIIF viewer would, and makes an audio player per canvas from its painting annotation
// (none when the reader may not listen), captions from its supplementing WebVTT, and
// a list of the ranges (the table of contents) that play each from its start.
import { clock } from "./lib/clock.js";

(function () {
  var root = document.getElementById("iiif-player");
  if (!root) { return; }
  var status = document.getElementById("iiif-status");
  var canvases = document.getElementById("iiif-canvases");
  var rangeList = document.getElementById("iiif-ranges");
  var players = {};

  function label(value) {
    if (!value) { return ""; }
    var keys = Object.keys(value);
    return keys.length ? value[keys[0]].join(" ") : "";
  }

  function annotations(pages, motivation) {
    var found = [];
    (pages || []).forEach(function (page) {
      (page.items || []).forEach(function (anno) {
        if (anno.motivation === motivation) { found.push(anno); }
      });
    });
    return found;
  }

  function addCanvas(canvas) {
    var section = document.createElement("div");
    section.className = "iiif-canvas";
    section.dataset.canvas = canvas.id;
    var heading = document.createElement("h3");
    heading.textContent = label(canvas.label) + " (" + clock(canvas.duration || 0) + ")";
    section.appendChild(heading);
    var sounds = annotations(canvas.items, "painting");
    if (sounds.length) {
      var audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "metadata";
      audio.src = sounds[0].body.id;
      audio.setAttribute("aria-label", label(canvas.label));
      annotations(canvas.annotations, "supplementing").forEach(function (anno) {
        if (anno.body.format !== "text/vtt") { return; }
        var track = document.createElement("track");
        track.kind = "captions";
        track.src = anno.body.id;
        track.label = label(anno.body.label) || root.dataset.labelTranscript;
        if (anno.body.language) { track.srclang = [].concat(anno.body.language)[0]; }
        audio.appendChild(track);
      });
      players[canvas.id] = audio;
      section.appendChild(audio);
    } else {
      var silent = document.createElement("p");
      silent.className = "muted small iiif-silent";
      silent.textContent = root.dataset.labelSilent;
      section.appendChild(silent);
    }
    canvases.appendChild(section);
  }

  function play(target) {
    var hash = target.indexOf("#t=");
    var canvasId = hash < 0 ? target : target.slice(0, hash);
    var start = hash < 0 ? 0 : parseFloat(target.slice(hash + 3).split(",")[0]) || 0;
    var audio = players[canvasId];
    if (!audio) { return; }
    var go = function () { audio.currentTime = start; audio.play().catch(function () {}); };
    if (audio.readyState >= 1) { go(); } else {
      audio.addEventListener("loadedmetadata", go, { once: true });
      audio.load();
    }
  }

  function addRanges(ranges) {
    ranges.forEach(function (range) {
      (range.items || []).forEach(function (item) {
        if (item.type === "Range") { addRanges([item]); return; }
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link-button iiif-range";
        var at = item.id.indexOf("#t=") < 0 ? 0 : parseFloat(item.id.split("#t=")[1]) || 0;
        button.textContent = clock(at) + " " + label(range.label);
        button.dataset.target = item.id;
        button.addEventListener("click", function () { play(item.id); });
        li.appendChild(button);
        rangeList.appendChild(li);
      });
    });
  }

  fetch(root.dataset.manifest, { credentials: "same-origin", headers: { Accept: "application/ld+json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(function (manifest) {
      (manifest.items || []).forEach(addCanvas);
      addRanges(manifest.structures || []);
      status.textContent = label(manifest.label);
      root.dataset.loaded = "true";
    })
    .catch(function () { status.textContent = root.dataset.labelFailed; });
})();
