// Reading an interview: a time in the transcript plays the audio from there, and a
// link with ?t=SECONDS (a citation, a search hit) opens the interview at that moment.
(function () {
  "use strict";
  var transcript = document.getElementById("transcript");
  if (!transcript) { return; }

  function playerFor(recordingId) {
    return document.querySelector('audio[data-recording="' + recordingId + '"]') ||
      document.querySelector("audio[data-recording]");
  }

  function playFrom(item) {
    var player = playerFor(item.dataset.recording);
    item.scrollIntoView({ block: "center" });
    item.classList.add("current");
    if (!player) { return; }
    var start = parseFloat(item.dataset.start) || 0;
    var go = function () { player.currentTime = start; player.play().catch(function () {}); };
    if (player.readyState >= 1) { go(); } else {
      player.preload = "auto";
      player.addEventListener("loadedmetadata", go, { once: true });
      player.load();
    }
  }

  transcript.addEventListener("click", function (event) {
    var link = event.target.closest("a.time");
    if (!link) { return; }
    event.preventDefault();
    history.replaceState(null, "", link.getAttribute("href"));
    transcript.querySelectorAll("li.current").forEach(function (li) { li.classList.remove("current"); });
    playFrom(link.closest("li"));
  });

  var t = parseFloat(new URLSearchParams(window.location.search).get("t"));
  if (!isNaN(t)) {
    var items = transcript.querySelectorAll("li[data-start]");
    var chosen = null;
    items.forEach(function (li) { if (parseFloat(li.dataset.start) <= t + 0.5) { chosen = li; } });
    if (chosen) { playFrom(chosen); }
  }
})();
