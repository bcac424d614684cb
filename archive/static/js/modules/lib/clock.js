// Times as the pages show them: "m:ss", or "h:mm:ss" past an hour, with tenths on
// request; "—" for no time. The one formatter of the editor and the interview page.

export function clock(seconds, tenths) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) { return "—"; }
  var whole = Math.floor(seconds);
  var h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  var out = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  if (tenths) { out += "." + Math.floor((seconds - whole) * 10); }
  return out;
}

// "1:02:03", "2:03" or "63" as seconds; NaN when it is not a time.
export function parseClock(text) {
  var parts = String(text).trim().split(":").map(Number);
  if (parts.some(isNaN)) { return NaN; }
  return parts.reduce(function (acc, part) { return acc * 60 + part; }, 0);
}
