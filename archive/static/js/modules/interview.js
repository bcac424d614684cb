// The interview page: drag-and-drop uploads with real progress, then live
// transcription progress and the partial transcript. Without JavaScript the page
// still works: the form posts the files and the page shows the state on reload.
import { clock } from "./lib/clock.js";
import { tr as t } from "./lib/i18n.js";

(function () {
  var section = document.getElementById("recordings");
  if (!section) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var form = section.querySelector("form.upload");
  var input = document.getElementById("file");
  var dropzone = document.getElementById("dropzone");
  var list = document.getElementById("upload-list");
  var pollTimer = null;

  function item(name) {
    var li = document.createElement("li");
    var label = document.createElement("span");
    label.textContent = name + " ";
    var bar = document.createElement("progress");
    bar.max = 1; bar.value = 0;
    bar.setAttribute("aria-label", t("Upload of %(file)s", { file: name }));
    var note = document.createElement("span");
    note.className = "muted small";
    li.append(label, bar, " ", note);
    list.appendChild(li);
    return { bar: bar, note: note, li: li };
  }

  // One file at a time, in the order chosen: the parts stay in order.
  function uploadAll(files) {
    var queue = Array.prototype.slice.call(files);
    var rows = queue.map(function (f) { return item(f.name); });
    var index = 0;
    function next() {
      if (index >= queue.length) { input.value = ""; poll(); return; }
      var row = rows[index], file = queue[index];
      index += 1;
      send(file, row, next);
    }
    next();
  }

  function send(file, row, done) {
    var data = new FormData();
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", section.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        row.bar.value = event.loaded / event.total;
        row.note.textContent = Math.round(100 * event.loaded / event.total) + "% " + t("sent");
      }
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 202) {
        row.bar.value = 1;
        row.note.textContent = t("stored, checked and queued for transcription");
      } else {
        row.li.classList.add("error");
        row.note.textContent = body.error || t("The upload failed (%(status)s).", { status: xhr.status });
      }
      done();
    });
    xhr.addEventListener("error", function () {
      row.li.classList.add("error");
      row.note.textContent = t("The connection failed; nothing was stored. Try this file again.");
      done();
    });
    row.note.textContent = t("sending…");
    xhr.send(data);
  }

  if (form && input) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.files.length) { uploadAll(input.files); }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      dropzone.addEventListener(name, function (event) {
        event.preventDefault(); dropzone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      dropzone.addEventListener(name, function (event) {
        event.preventDefault(); dropzone.classList.remove("over");
      });
    });
    dropzone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        uploadAll(event.dataTransfer.files);
      }
    });
  }

  function cell(row, content) {
    var td = document.createElement("td");
    td.append(content);
    row.appendChild(td);
    return td;
  }

  function retryForm(table, recordingId) {
    var formEl = document.createElement("form");
    formEl.method = "post";
    formEl.className = "inline";
    formEl.action = table.dataset.retryUrl.replace("/0/", "/" + recordingId + "/");
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    var button = document.createElement("button");
    button.type = "submit"; button.textContent = t("Try again");
    formEl.append(token, button);
    return formEl;
  }

  // Rebuilt from the API each time: new parts appear, finished ones update.
  function renderRecordings(recordings) {
    var table = document.getElementById("recording-table");
    var tbody = table.querySelector("tbody");
    var fragment = document.createDocumentFragment();
    recordings.forEach(function (rec) {
      var row = document.createElement("tr");
      row.dataset.recording = rec.id;
      cell(row, String(rec.position));
      cell(row, rec.file_name || t("Part %(number)s", { number: rec.position }));
      cell(row, clock(rec.duration));
      var job = cell(row, "");
      job.className = "job";
      var status = document.createElement("span");
      status.className = "job-status"; status.dataset.status = rec.status;
      status.textContent = STATUS_LABELS[rec.status] ? t(STATUS_LABELS[rec.status]) : rec.status;
      var bar = document.createElement("progress");
      bar.max = 1; bar.value = rec.progress;
      bar.setAttribute("aria-label", t("Transcription progress of part %(number)s", { number: rec.position }));
      var eta = document.createElement("span");
      eta.className = "job-eta muted small";
      eta.textContent = rec.eta_seconds ? t("about %(time)s left", { time: clock(rec.eta_seconds) }) : "";
      job.append(status, " ", bar, " ", eta);
      if (rec.status === "failed") {
        var error = document.createElement("p");
        error.className = "error job-error"; error.textContent = rec.error;
        job.appendChild(error);
        if (table.dataset.canRetry) { job.appendChild(retryForm(table, rec.id)); }
      }
      fragment.appendChild(row);
    });
    tbody.replaceChildren(fragment);
    table.hidden = recordings.length === 0;
    document.getElementById("no-recordings").hidden = recordings.length > 0;
  }

  function renderTranscript(segments) {
    var ol = document.getElementById("transcript");
    if (!ol) { return; }
    var empty = document.getElementById("transcript-empty");
    if (empty && segments.length) { empty.remove(); }
    var fragment = document.createDocumentFragment();
    segments.forEach(function (seg) {
      var li = document.createElement("li");
      var time = document.createElement("span"); time.className = "time";
      time.textContent = clock(seg.start);
      var who = document.createElement("span"); who.className = "speaker";
      who.textContent = seg.speaker.name || "…";
      var text = document.createElement("span"); text.className = "text";
      text.textContent = seg.text;
      if (seg.language && /^[a-z]{2,3}$/.test(seg.language)) { text.lang = seg.language; }
      li.append(time, " ", who, " ", text);
      fragment.appendChild(li);
    });
    ol.replaceChildren(fragment);
  }

  // A queued job waits for a worker (none may be running, or the queue may be down:
  // the upload is stored either way and is taken up when one starts).
  var STATUS_LABELS = { queued: "waiting for a worker", processing: "transcribing", done: "done", failed: "failed" };

  function poll() {
    clearTimeout(pollTimer);
    fetch(section.dataset.interviewUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (interview) {
        renderRecordings(interview.recordings);
        var busy = interview.recordings.some(function (r) {
          return r.status === "queued" || r.status === "processing";
        });
        return fetch(section.dataset.transcriptUrl, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { segments: [] }; })
          .then(function (t) {
            renderTranscript(t.segments);
            if (busy) { pollTimer = setTimeout(poll, 2000); }
          });
      })
      .catch(function () { pollTimer = setTimeout(poll, 5000); });
  }

  if (section.querySelector('.job-status')) {
    var states = Array.prototype.map.call(section.querySelectorAll(".job-status"),
      function (el) { return el.dataset.status; });
    if (states.indexOf("queued") >= 0 || states.indexOf("processing") >= 0) { poll(); }
  }
})();
