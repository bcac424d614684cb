// The page's messages in the reader's language (see archive/i18n.py): English
// text is the key, and is shown as written when there is no translation. The
// strings come from the translated JSON block every page carries (#i18n-strings).
const I18N = (function () {
  var el = document.getElementById("i18n-strings");
  try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
}());

// The locale for dates (undefined: the browser's own, for English pages).
export const LOCALE = I18N.lang && I18N.lang !== "en" ? I18N.lang : undefined;

function fillIn(text, values) {
  return !values ? text : text.replace(/%\((\w+)\)s/g, function (whole, key) {
    return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
  });
}

export function tr(text, values) {
  return fillIn((I18N.messages && I18N.messages[text]) || text, values);
}

export function trn(singular, plural, n, values) {
  var forms = I18N.plurals && I18N.plurals[singular];
  var text = n === 1 ? singular : plural;
  if (forms) { text = forms[new Intl.PluralRules(I18N.lang).select(n)] || forms.other || text; }
  var all = { num: n };
  Object.keys(values || {}).forEach(function (key) { all[key] = values[key]; });
  return fillIn(text, all);
}
