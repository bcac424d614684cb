// The text of a segment as parts (text and hidden labels), and the caret.

// ---- the text of a segment as parts, and the caret --------------------------------
export function partsOf(el) {
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

export function viewParts(view) {
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

export function caretOffset(el) {
  var selection = window.getSelection();
  if (!selection.rangeCount || !el.contains(selection.anchorNode)) { return null; }
  var range = document.createRange();
  range.selectNodeContents(el);
  range.setEnd(selection.anchorNode, selection.anchorOffset);
  return range.toString().length;
}

export function rangeOffsets(el, range) {
  var before = document.createRange();
  before.selectNodeContents(el);
  before.setEnd(range.startContainer, range.startOffset);
  var start = before.toString().length;
  return [start, start + range.toString().length];
}

export function setCaret(el, offset) {
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
