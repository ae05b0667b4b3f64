// How the panel writes values for people: arguments by their registry type (durations, amounts, dates),
// relative times, elapsed times. Pure functions of their inputs (the clock is passed in); no DOM here.
(function () {
  "use strict";
  var MASK = /^\*{4}/;                      // the server masks sensitive values as ****1234 or ****
  var DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
  var DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

  // 14400 -> "4 h", 5400 -> "1 h 30 min", 90 -> "1 min 30 s": the two largest units that are not zero.
  function duration(seconds) {
    var left = Math.max(0, Math.round(Number(seconds)));
    if (!isFinite(left)) return String(seconds);
    if (left === 0) return "0 s";
    var units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
    var first = 0;
    while (left < units[first][1]) first += 1;
    var parts = [];
    for (var i = first; i < Math.min(first + 2, units.length); i++) {
      var count = Math.floor(left / units[i][1]);
      left -= count * units[i][1];
      if (count > 0) parts.push(count + " " + units[i][0]);
    }
    return parts.join(" ");
  }

  function number(value, locale, fractionDigits) {
    var options = fractionDigits === undefined ? {} : { minimumFractionDigits: fractionDigits,
                                                        maximumFractionDigits: fractionDigits };
    try { return new Intl.NumberFormat(locale, options).format(Number(value)); } catch (e) { return String(value); }
  }

  // "19.990" keeps its three decimals: a decimal is exact, so the panel shows the digits it was given.
  function decimal(text, locale) {
    var match = /^[+-]?\d+(?:\.(\d+))?$/.exec(String(text));
    if (!match || String(text).replace(/[^0-9]/g, "").length > 15) return String(text);  // beyond float precision
    return number(text, locale, match[1] ? match[1].length : 0);
  }

  function date(text, locale) {
    var m = DATE.exec(text);
    if (!m) return String(text);
    try {
      return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" })
        .format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])));
    } catch (e) { return String(text); }
  }

  function datetime(text, locale) {
    var when = new Date(text);
    if (isNaN(when.getTime())) return String(text);
    try { return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(when); }
    catch (e) { return String(text); }
  }

  // One argument's value for display, or null for an unset one (hidden). `type` is the registry's type
  // name when the panel knows it (GET /sync/registry), else undefined: then only unambiguous shapes
  // (booleans, ISO dates) are humanised and numbers stay as they are, since seconds and counts look alike.
  function argument(value, type, t, locale) {
    if (value === null || value === undefined) return null;
    if (Array.isArray(value)) {
      return value.map(function (item) { return argument(item, type, t, locale); })
        .filter(function (item) { return item !== null; }).join(", ");
    }
    if (typeof value === "string" && MASK.test(value)) return value;  // sensitive: exactly as the server sent it
    if (typeof value === "boolean") return value ? t("yes") : t("no");
    switch (type) {
      case "duration": return duration(value);
      case "decimal": return decimal(value, locale);
      // integers are often ids (an order number): no thousands separators
      case "int": return String(value);
      case "float": return typeof value === "number" ? number(value, locale) : String(value);
      case "date": return date(String(value), locale);
      case "datetime": return datetime(String(value), locale);
      default:
        if (typeof value === "string" && DATE.test(value)) return date(value, locale);
        if (typeof value === "string" && DATETIME.test(value) && type === undefined) return datetime(value, locale);
        return typeof value === "object" ? JSON.stringify(value) : String(value);
    }
  }

  // "just now", "2 min ago" (the panel's own labels), from epoch seconds.
  function relative(then, now, t) {
    var seconds = Math.max(0, Math.floor(now - then));
    if (seconds < 10) return t("justNow");
    if (seconds < 60) return t("agoSeconds", { n: seconds });
    if (seconds < 3600) return t("agoMinutes", { n: Math.floor(seconds / 60) });
    if (seconds < 86400) return t("agoHours", { n: Math.floor(seconds / 3600) });
    return t("agoDays", { n: Math.floor(seconds / 86400) });
  }

  window.commandlangFormat = { argument: argument, duration: duration, relative: relative, decimal: decimal };
})();
