// The transcript editor: the whole transcript from one payload, synced to the audio,
// edited in place and saved segment by segment. Hidden words (names, redactions) are
// fixed labels the editor cannot change; it sends {"hidden": n} in their place and
// the server puts the stored words back. A change that cannot be saved stays in the
// page and in localStorage and is sent again; nothing is dropped without a word.
(function () {
  "use strict";
  var root = document.getElementById("editor");
  if (!root) { return; }
  // The page's messages in the reader's language (see archive/i18n.py): English
  // text is the key, and is shown as written when there is no translation.
  var I18N = (function () {
    var el = document.getElementById("i18n-strings");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }());
  var LOCALE = I18N.lang && I18N.lang !== "en" ? I18N.lang : undefined;
  function fillIn(text, values) {
    return !values ? text : text.replace(/%\((\w+)\)s/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }
  function tr(text, values) {
    return fillIn((I18N.messages && I18N.messages[text]) || text, values);
  }
  function trn(singular, plural, n, values) {
    var forms = I18N.plurals && I18N.plurals[singular];
    var text = n === 1 ? singular : plural;
    if (forms) { text = forms[new Intl.PluralRules(I18N.lang).select(n)] || forms.other || text; }
    var all = { num: n };
    Object.keys(values || {}).forEach(function (key) { all[key] = values[key]; });
    return fillIn(text, all);
  }
  var data = JSON.parse(document.getElementById("editor-data").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var list = document.getElementById("segments");
  var player = document.getElementById("player");
  var audioBase = root.dataset.audio;
  var api = root.dataset.api;
  var storeKey = "archive-editor-" + data.interview;
  var SAVE_DELAY = 700;

  var speakers = {};
  data.speakers.forEach(function (s) { speakers[s.id] = s; });
  var offsets = {};
  var total = 0;
  data.recordings.forEach(function (r) { offsets[r.id] = total; total += r.duration || 0; });

  // ---- rendering -------------------------------------------------------------------
  var translationLabel = (data.translation && data.translation.label) || "Machine translation";
  var segs = data.segments.map(function (view) { return { view: view, el: null, saved: null }; });
  var byId = {};

  function esc(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function clock(seconds, tenths) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) { return "—"; }
    var whole = Math.floor(seconds);
    var h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
    var out = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    if (tenths) { out += "." + Math.floor((seconds - whole) * 10); }
    return out;
  }

  function parseClock(text) {
    var parts = String(text).trim().split(":").map(Number);
    if (parts.some(isNaN)) { return NaN; }
    return parts.reduce(function (acc, part) { return acc * 60 + part; }, 0);
  }

  function textHtml(view) {
    // Words and labels in order; everything else (spaces, punctuation) as plain text.
    var marks = [];
    view.w.forEach(function (w, i) { marks.push([w[0], w[1], "w", i]); });
    view.h.forEach(function (h, i) { marks.push([h[0], h[1], "h", i]); });
    marks.sort(function (a, b) { return a[0] - b[0]; });
    var out = "", cursor = 0, text = view.t;
    marks.forEach(function (mark) {
      if (mark[0] < cursor) { return; }
      out += esc(text.slice(cursor, mark[0]));
      var inner = esc(text.slice(mark[0], mark[1]));
      if (mark[2] === "w") {
        var w = view.w[mark[3]];
        out += '<span class="w' + (w[4] < data.unsure ? " unsure" : "") + '" data-w="' + mark[3] + '">' + inner + "</span>";
      } else {
        var h = view.h[mark[3]];
        out += '<span class="chip chip-' + h[4] + '" contenteditable="false" data-h="' + mark[3] +
          '" title="' + esc(tr("Hidden (%(kind)s): it cannot be edited here", { kind: h[4] === "name" ? tr("a name") : tr("redacted") })) + '">' + inner + "</span>";
      }
      cursor = mark[1];
    });
    return out + esc(text.slice(cursor));
  }

  function speakerName(id) {
    var s = speakers[id];
    return s ? s.name : "…";
  }

  // Why the engine doubts a segment (view.x); readers do not see it until checked.
  var DOUBTS = {
    loop: "the same words over and over",
    hotwords: "mostly the names the model was given",
    too_fast: "more words than the time allows"
  };

  function doubtHtml(v) {
    if (!v.x) { return ""; }
    return '<span class="seg-doubt" role="note">' +
      esc(tr("Possible hallucination (%(why)s): check the audio. Hidden from readers until corrected or confirmed.", { why: DOUBTS[v.x] ? tr(DOUBTS[v.x]) : v.x })) +
      ' <button type="button" data-act="confirm">' + esc(tr("It is what was said")) + "</button></span>";
  }

  // The language the segment was transcribed in: a small tag, and lang on its text
  // so that spelling checks and screen readers use that language.
  var LANG_RE = /^[a-z]{2,3}$/;
  function langTag(v) {
    if (!v.l || !LANG_RE.test(v.l)) { return ""; }
    var label = (root.dataset.languageLabel || "Language") + " " + v.l;
    return ' <span class="seg-lang" title="' + esc(label) + '" aria-label="' + esc(label) + '">' + v.l + "</span>";
  }
  function langAttr(v) { return v.l && LANG_RE.test(v.l) ? ' lang="' + v.l + '"' : ""; }

  function itemHtml(seg) {
    var v = seg.view;
    return '<li class="seg' + (v.x ? " doubtful" : "") + '" data-id="' + v.id + '">' +
      '<div class="seg-meta"><button type="button" class="seg-time" data-act="play" tabindex="-1" title="' + esc(tr("Play from here")) + '">' +
      clock(v.s) + '</button> <button type="button" class="seg-speaker" data-act="speaker" tabindex="-1" title="' + esc(tr("Change the speaker (Alt+S)")) + '">' +
      esc(speakerName(v.sp)) + '</button>' + langTag(v) + '<span class="seg-state" aria-live="polite"></span>' + doubtHtml(v) + '</div>' + translationHtml(v) +
      '<div class="seg-text"' + langAttr(v) + ' contenteditable="true" spellcheck="true" role="textbox" aria-label="' +
      esc(tr("Segment at %(time)s", { time: clock(v.s) })) + '">' + textHtml(v) + "</div></li>";
  }

  // The machine translation, read-only, above the text it translates (the text stays
  // the item's last child: ``attach`` finds it there).
  function translationHtml(v) {
    if (v.tr === undefined || v.tr === null) { return ""; }
    return '<div class="seg-translation" lang="en"><span class="track-label">' +
      esc(translationLabel) + ':</span> ' + esc(v.tr) + "</div>";
  }

  // The first screenful is drawn at once and painted; the rest follows in chunks,
  // so a 3-hour transcript is on screen in a moment and complete soon after.
  var FIRST = 60, CHUNK = 400;
  var complete = false;

  function append(from, upto) {
    list.insertAdjacentHTML("beforeend", segs.slice(from, upto).map(itemHtml).join(""));
    var items = list.children;
    for (var i = from; i < upto; i++) { attach(segs[i], items[i]); }
  }

  function renderAll(done) {
    var next = Math.min(segs.length, FIRST);
    append(0, next);
    document.documentElement.dataset.editorFirst = String(performance.now());
    function more() {
      if (next >= segs.length) {
        indexTimes();
        complete = true;
        done();
        return;
      }
      var upto = Math.min(segs.length, next + CHUNK);
      append(next, upto);
      next = upto;
      setTimeout(more, 0);
    }
    requestAnimationFrame(function () {
      setTimeout(function () {
        // A frame has been painted with the first screenful (the benchmark reads this).
        document.documentElement.dataset.editorPainted = String(performance.now());
        more();
      }, 0);
    });
  }

  function attach(seg, el) {
    seg.el = el;
    seg.text = el.lastElementChild;
    seg.saved = JSON.stringify(viewParts(seg.view));
    seg.domVersion = seg.view.v;  // the version whose hidden labels the page shows
    byId[seg.view.id] = seg;
  }

  function rerender(seg) {
    var caret = document.activeElement === seg.text ? caretOffset(seg.text) : null;
    var holder = document.createElement("ol");
    holder.innerHTML = itemHtml(seg);
    var fresh = holder.firstChild;
    list.replaceChild(fresh, seg.el);
    attach(seg, fresh);
    if (current === seg) { fresh.classList.add("focus"); }
    if (caret !== null) { seg.text.focus(); setCaret(seg.text, caret); }
  }

  // ---- the text of a segment as parts, and the caret --------------------------------
  function partsOf(el) {
    var parts = [];
    (function walk(node) {
      node.childNodes.forEach(function (child) {
        if (child.nodeType === 3) { push(child.nodeValue); }
        else if (child.nodeType === 1 && child.dataset.h !== undefined) { parts.push({ hidden: Number(child.dataset.h) }); }
        else if (child.nodeName === "BR") { push(" "); }
        else if (child.nodeType === 1) { walk(child); }
      });
    })(el);
    function push(text) {
      text = text.replace(/\u00a0/g, " ").replace(/\n/g, " ");
      if (typeof parts[parts.length - 1] === "string") { parts[parts.length - 1] += text; }
      else { parts.push(text); }
    }
    return parts;
  }

  function viewParts(view) {
    // What partsOf reads from the segment as drawn, without touching the page.
    var parts = [], cursor = 0;
    view.h.forEach(function (h, i) {
      if (h[0] > cursor) { parts.push(view.t.slice(cursor, h[0])); }
      parts.push({ hidden: i });
      cursor = h[1];
    });
    if (cursor < view.t.length) { parts.push(view.t.slice(cursor)); }
    return parts;
  }

  function caretOffset(el) {
    var selection = window.getSelection();
    if (!selection.rangeCount || !el.contains(selection.anchorNode)) { return null; }
    var range = document.createRange();
    range.selectNodeContents(el);
    range.setEnd(selection.anchorNode, selection.anchorOffset);
    return range.toString().length;
  }

  function rangeOffsets(el, range) {
    var before = document.createRange();
    before.selectNodeContents(el);
    before.setEnd(range.startContainer, range.startOffset);
    var start = before.toString().length;
    return [start, start + range.toString().length];
  }

  function setCaret(el, offset) {
    var walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    var node, left = offset;
    while ((node = walker.nextNode())) {
      if (node.parentNode.dataset && node.parentNode.dataset.h !== undefined) { left -= node.nodeValue.length; continue; }
      if (left <= node.nodeValue.length) {
        var range = document.createRange();
        range.setStart(node, Math.max(left, 0));
        range.collapse(true);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        return;
      }
      left -= node.nodeValue.length;
    }
  }

  // ---- saving: a queue that survives failures and reloads ---------------------------
  var pending = {};      // segment id -> fields to PATCH (parts, speaker_id, start, end)
  var timers = {};
  var inFlight = false;
  var retryDelay = 0;
  var retryTimer = null;
  var statusEl = document.getElementById("save-status");
  var retryButton = document.getElementById("save-retry");

  function remember() {
    var keys = Object.keys(pending);
    try {
      if (keys.length) { localStorage.setItem(storeKey, JSON.stringify(pending)); }
      else { localStorage.removeItem(storeKey); }
    } catch (e) { /* private mode: the page still holds them */ }
  }

  function showStatus(message, trouble) {
    statusEl.textContent = message;
    statusEl.classList.toggle("trouble", !!trouble);
    retryButton.hidden = !trouble;
  }

  function queue(seg, fields) {
    var entry = pending[seg.view.id] || {};
    Object.keys(fields).forEach(function (k) { entry[k] = fields[k]; });
    entry.version = seg.domVersion;
    pending[seg.view.id] = entry;
    remember();
    markSegment(seg, "unsaved", tr("not saved yet"));
    showStatus(tr("%(num)s change(s) waiting to be saved…", { num: countPending() }));
  }

  function countPending() { return Object.keys(pending).length; }

  function markSegment(seg, state, label) {
    if (!seg || !seg.el) { return; }
    seg.el.dataset.state = state || "";
    seg.el.querySelector(".seg-state").textContent = label || "";
  }

  function textChanged(seg) {
    clearTimeout(timers[seg.view.id]);
    var parts = partsOf(seg.text);
    var json = JSON.stringify(parts);
    if (json === seg.saved && !(pending[seg.view.id] && pending[seg.view.id].parts)) { return; }
    queue(seg, { parts: parts });
    timers[seg.view.id] = setTimeout(flush, SAVE_DELAY);
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, ok: response.ok, json: json };
      });
    });
  }

  function flush() {
    if (inFlight) { return Promise.resolve(); }
    var ids = Object.keys(pending);
    if (!ids.length) { showStatus(tr("All changes saved.")); return Promise.resolve(); }
    var id = ids[0];
    var seg = byId[id];
    var fields = pending[id];
    var sentJson = JSON.stringify(fields);
    var body = fields;
    inFlight = true;
    showStatus(tr("Saving…"));
    if (seg) { markSegment(seg, "saving", tr("saving…")); }
    return request("PATCH", api + "/segments/" + id, body).then(function (result) {
      inFlight = false;
      if (result.ok) {
        retryDelay = 0;
        if (JSON.stringify(pending[id]) === sentJson) { delete pending[id]; }
        remember();
        if (seg) { saved(seg, result.json.segment); }
        return flush();
      }
      if (result.status === 409) { return conflict(seg, fields); }
      if (result.status >= 500 || result.status === 429 || result.status === 0) { return later(tr("the server did not answer (%(status)s)", { status: result.status })); }
      // The archive refused the change: keep it on the page and say why.
      delete pending[id];
      remember();
      markSegment(seg, "refused", tr("not saved: %(why)s", { why: result.json.error || result.json.message || tr("refused") }));
      showStatus(tr("A change was refused; it is still on the page (see the segment)."), true);
      return flush();
    }, function () {
      inFlight = false;
      if (seg) { markSegment(seg, "unsaved", tr("not saved yet")); }
      return later(navigator.onLine === false ? tr("you are offline") : tr("the archive could not be reached"));
    });
  }

  function later(why) {
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : 2, 30);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, retryDelay * 1000);
    showStatus(tr("%(num)s change(s) not saved: %(why)s. Trying again in %(delay)s s; they are kept in this browser meanwhile.", { num: countPending(), why: why, delay: retryDelay }), true);
  }

  function layout(view) {
    return JSON.stringify(view.h.map(function (h) { return [view.t.slice(h[0], h[1]), h[4]]; }));
  }

  function saved(seg, view) {
    var sameLabels = layout(seg.view) === layout(view);
    seg.view = view;
    if (!pending[view.id]) {
      rerender(seg);
      markSegment(seg, "", "");
    } else if (sameLabels) {
      // Typed on while it was saving: the labels on the page still match, so what
      // is waiting may be sent against the new version.
      seg.domVersion = view.v;
      pending[view.id].version = view.v;
      remember();
    }
    indexTimes();
    showCurrent();
  }

  function confirmDoubt(seg) {
    settle(seg).then(function () {
      return request("POST", api + "/segments/" + seg.view.id + "/confirm", { version: seg.view.v });
    }).then(checked).then(function (json) {
      seg.view = json.segment;
      rerender(seg);
      data.risks = (data.risks || []).filter(function (risk) {
        if (risk[0] !== seg.view.id) { return true; }
        risk[2] = risk[2].filter(function (reason) { return reason !== "doubted"; });
        return risk[2].length > 0;
      });
      showRisks();
      say(tr("Confirmed: readers, search and exports now include this segment."));
    }).catch(function (error) { say(error.message); });
  }

  function conflict(seg, fields) {
    delete pending[seg.view.id];
    remember();
    return request("GET", api + "/segments/" + seg.view.id).then(function (result) {
      var mine = seg.text.textContent;
      if (result.ok) { seg.view = result.json.segment; rerender(seg); }
      var box = document.createElement("div");
      box.className = "conflict";
      box.setAttribute("role", "alert");
      box.innerHTML = "<p><strong>" + esc(tr("Someone else changed this segment.")) + "</strong> " + esc(tr("Theirs is shown above; yours was:")) + "</p><blockquote></blockquote>" +
        '<button type="button" data-act="dismiss">' + esc(tr("I have merged them")) + "</button>";
      box.querySelector("blockquote").textContent = mine;
      seg.el.appendChild(box);
      markSegment(seg, "refused", tr("changed elsewhere"));
      showStatus(tr("A segment was changed by someone else; your text is shown beside it."), true);
      return flush();
    });
  }

  function restorePending() {
    var stored;
    try { stored = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { stored = {}; }
    Object.keys(stored).forEach(function (id) {
      var seg = byId[id];
      if (!seg) { return; }
      pending[id] = stored[id];
      if (stored[id].parts) {
        seg.text.innerHTML = stored[id].parts.map(function (part) {
          if (typeof part === "string") { return esc(part); }
          var h = seg.view.h[part.hidden];
          var label = h ? esc(seg.view.t.slice(h[0], h[1])) : "[hidden]";
          return '<span class="chip" contenteditable="false" data-h="' + part.hidden + '">' + label + "</span>";
        }).join("");
      }
      if (stored[id].version !== undefined) { seg.domVersion = stored[id].version; }
      markSegment(seg, "unsaved", tr("not saved yet (kept from before)"));
    });
    if (countPending()) { showStatus(tr("%(num)s change(s) from an earlier visit are being saved…", { num: countPending() }), true); flush(); }
  }

  retryButton.addEventListener("click", function () { clearTimeout(retryTimer); retryDelay = 0; flush(); });
  window.addEventListener("online", function () { clearTimeout(retryTimer); flush(); });
  window.addEventListener("beforeunload", function (event) {
    if (countPending()) { event.preventDefault(); event.returnValue = ""; }
  });

  // ---- playback ----------------------------------------------------------------------
  var loaded = null;
  var playing = null;      // {seg, word}
  var starts = {};         // recording id -> sorted segments

  function indexTimes() {
    starts = {};
    segs.forEach(function (seg) { (starts[seg.view.r] = starts[seg.view.r] || []).push(seg); });
    Object.keys(starts).forEach(function (r) {
      starts[r].sort(function (a, b) { return a.view.s - b.view.s; });
    });
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

  function playAt(recording, time, autoplay) {
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

  var follow = document.getElementById("follow");
  var clockEl = document.getElementById("clock");

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
  var partSelect = document.getElementById("part");
  if (partSelect) {
    partSelect.addEventListener("change", function () { load(Number(partSelect.value), function () {}); });
  }

  function togglePlay() {
    if (loaded === null) {
      var seg = current || segs[0];
      if (seg) { playAt(seg.view.r, seg.view.s); }
      return;
    }
    if (player.paused) { player.play().catch(function () {}); } else { player.pause(); }
  }

  function skip(seconds) {
    if (loaded === null) { return togglePlay(); }
    player.currentTime = Math.max(0, player.currentTime + seconds);
    track();
  }

  function speed(step) {
    player.playbackRate = Math.min(2.5, Math.max(0.5, Math.round((player.playbackRate + step) * 100) / 100));
  }

  // ---- the current segment and its tools ------------------------------------------
  var current = null;
  var toolMessage = document.getElementById("tool-message");

  function setCurrent(seg) {
    if (current === seg) { return; }
    if (current && current.el) { current.el.classList.remove("focus"); }
    current = seg;
    if (seg) { seg.el.classList.add("focus"); }
    showCurrent();
  }

  function showCurrent() {
    var label = document.getElementById("current-label");
    if (!current) { return; }
    var v = current.view;
    label.textContent = speakerName(v.sp) + ", " + clock(v.s) + " to " + clock(v.e) + " (version " + v.v + ")";
    document.getElementById("seg-start").textContent = clock(v.s, true);
    document.getElementById("seg-end").textContent = clock(v.e, true);
  }

  function segOf(node) {
    var li = node && node.closest ? node.closest("li.seg") : null;
    return li ? byId[li.dataset.id] : null;
  }

  function say(message) { toolMessage.textContent = message || ""; }

  function needCurrent() {
    if (!current) { say(tr("Click into a segment first.")); return false; }
    return true;
  }

  function settle(seg) {
    // Structural changes act on the saved text: send what is waiting first.
    clearTimeout(timers[seg.view.id]);
    if (JSON.stringify(partsOf(seg.text)) !== seg.saved) { queue(seg, { parts: partsOf(seg.text) }); }
    return flush().then(function () {
      if (pending[seg.view.id]) { throw new Error(tr("This segment has changes that are not saved yet; try again when they are.")); }
    });
  }

  function act(promise) {
    say("");
    return promise.catch(function (error) { say(error.message); });
  }

  function checked(result) {
    if (!result.ok) { throw new Error(result.json.error || result.json.message || tr("The archive refused (%(status)s).", { status: result.status })); }
    return result.json;
  }

  function split() {
    if (!needCurrent()) { return; }
    var seg = current;
    if (caretOffset(seg.text) === null) { say(tr("Put the cursor where the segment should be split.")); return; }
    act(settle(seg).then(function () {
      // After saving, the page shows the stored rendering: the cursor counts in it.
      var at = caretOffset(seg.text);
      return request("POST", api + "/segments/" + seg.view.id + "/split", { at: at, version: seg.view.v });
    }).then(checked).then(function (json) {
      seg.view = json.segments[0];
      rerender(seg);
      var tail = { view: json.segments[1], el: null, saved: null };
      segs.splice(segs.indexOf(seg) + 1, 0, tail);
      var holder = document.createElement("ol");
      holder.innerHTML = itemHtml(tail);
      list.insertBefore(holder.firstChild, seg.el.nextSibling);
      attach(tail, seg.el.nextSibling);
      indexTimes();
      tail.text.focus();
      setCaret(tail.text, 0);
      setCurrent(tail);
      say(tr("Split: the second part starts at %(time)s.", { time: clock(tail.view.s, true) }));
    }));
  }

  function merge() {
    if (!needCurrent()) { return; }
    var seg = current;
    var index = segs.indexOf(seg);
    var next = segs[index + 1];
    act((next ? settle(next) : Promise.resolve()).then(function () { return settle(seg); }).then(function () {
      return request("POST", api + "/segments/" + seg.view.id + "/merge", { version: seg.view.v });
    }).then(checked).then(function (json) {
      var gone = byId[json.removed];
      if (gone) {
        segs.splice(segs.indexOf(gone), 1);
        gone.el.remove();
        delete byId[json.removed];
      }
      seg.view = json.segment;
      rerender(seg);
      indexTimes();
      showCurrent();
      say(tr("Merged with the next segment."));
    }));
  }

  function nudge(field, delta) {
    if (!needCurrent()) { return; }
    var v = current.view;
    var value = Math.round((v[field === "start" ? "s" : "e"] + delta) * 1000) / 1000;
    var next = field === "start" ? { start: value } : { end: value };
    if ((field === "start" ? value >= v.e : value <= v.s) || value < 0) { say(tr("Start must stay before the end.")); return; }
    v[field === "start" ? "s" : "e"] = value;
    queue(current, next);
    showCurrent();
    clearTimeout(timers.nudge);
    timers.nudge = setTimeout(flush, SAVE_DELAY);
  }

  // Speakers: a list for the segment, and renaming once for the whole interview.
  var menu = document.getElementById("speaker-menu");

  function openSpeakers(seg, anchor) {
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

  function renderSpeakers() {
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

  // History: each version with what changed, and restoring one.
  var historyBox = document.getElementById("history");
  var historyList = document.getElementById("history-list");

  function words(text) { return text.split(/(\s+)/).filter(function (t) { return t !== ""; }); }

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

  function showHistory() {
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

  // Redaction from a selection.
  var redactDialog = document.getElementById("redact-dialog");
  var redactTarget = null;

  function openRedact() {
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

  // Next / previous uncertain word.
  function uncertain(direction) {
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

  function moveSegment(direction) {
    var index = current ? segs.indexOf(current) : -1;
    var next = segs[Math.min(Math.max(index + direction, 0), segs.length - 1)];
    if (!next) { return; }
    next.text.focus();
    setCaret(next.text, 0);
    next.el.scrollIntoView({ block: "nearest" });
    setCurrent(next);
  }

  // ---- the review queue: segments to check first, riskiest first -----------------
  var RISK_WORDS = {
    doubted: "possible hallucination",
    unsure_words: "many uncertain words",
    low_confidence: "low confidence",
    short_turn: "short turn between speakers"
  };
  var riskList = document.getElementById("risk-list");
  var riskCursor = -1;

  function showRisks() {
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

  function goToRisk(index) {
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

  function playFromCaret() {
    var selection = window.getSelection();
    var node = selection.rangeCount ? selection.anchorNode : null;
    var seg = node ? segOf(node.nodeType === 3 ? node.parentNode : node) : current;
    if (!seg) { return; }
    var word = node && (node.nodeType === 3 ? node.parentNode : node).closest(".w");
    var w = word ? seg.view.w[Number(word.dataset.w)] : null;
    playAt(seg.view.r, w ? w[2] : seg.view.s);
  }

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

  var help = document.getElementById("help");
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

  // Workflow status.
  var workflow = document.getElementById("workflow");
  var labels = { machine_transcript: "Machine transcript", in_review: "In review", approved: "Approved" };

  function showWorkflow() {
    var w = data.workflow;
    workflow.innerHTML = w.steps.map(function (step) {
      return '<option value="' + step + '"' + (step === w.status ? " selected" : "") + ">" + esc(labels[step] ? tr(labels[step]) : step) + "</option>";
    }).join("");
    document.getElementById("workflow-line").textContent = (labels[w.status] ? tr(labels[w.status]) : w.status) +
      (w.by ? ", " + tr("set by %(name)s", { name: w.by }) : "") + (w.at ? " " + tr("on %(when)s", { when: new Date(w.at).toLocaleString(LOCALE) }) : "") + ".";
  }

  document.getElementById("workflow-form").addEventListener("submit", function (event) {
    event.preventDefault();
    act(request("POST", api + "/interviews/" + data.interview + "/workflow", { status: workflow.value }).then(checked).then(function (json) {
      data.workflow.status = json.workflow_status;
      data.workflow.by = document.querySelector(".who") ? document.querySelector(".who").firstChild.textContent.trim() : "you";
      data.workflow.at = new Date().toISOString();
      showWorkflow();
    }));
  });

  // Contents: index points beside the transcript.
  var contentsList = document.getElementById("contents-list");

  function showContents() {
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

  var pointForm = document.getElementById("point-form");
  var pointTime = document.getElementById("point-time"), pointTimeTyped = false;
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

  // ---- start ------------------------------------------------------------------------
  renderSpeakers();
  showWorkflow();
  showContents();
  if (segs.length && audioBase) { player.src = audioBase + "?recording=" + segs[0].view.r; loaded = segs[0].view.r; }
  renderAll(function () {
    showRisks();
    restorePending();
    document.documentElement.dataset.editorReady = String(performance.now());
  });
})();
