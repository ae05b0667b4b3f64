// The command box: agents type commands here, not into the customer's chat.
// Suggestions come from POST /sync/complete as they type (debounced; a newer keystroke aborts the request
// still in flight, so a stale answer never overwrites a fresh one). Keyboard first: arrows move through the
// suggestions, Tab accepts one, Escape closes them, Enter runs the command through POST /sync/commands.
// The box is an ARIA combobox: the input owns a listbox and points at the active option.
// "Send the reply to the customer" is a choice made before running (send_to_customer: true): sending it
// afterwards means running the command again, which the box offers only for read-only commands.
(function () {
  "use strict";
  var DEBOUNCE_MS = 120;

  // Where the suggestion's `insert` goes: what the server said (`replace: {start, end}`, in UTF-16 code
  // units like selectionStart) while the text is still the one it answered for; else the token under the
  // cursor (after the last space; for a value, after the `=`).
  function replaceRange(text, cursor, suggestion, answered) {
    if (answered && answered.text === text && answered.replace && typeof answered.replace.start === "number") {
      return [answered.replace.start, typeof answered.replace.end === "number" ? answered.replace.end : cursor];
    }
    var start = cursor;
    while (start > 0 && !/\s/.test(text[start - 1])) start -= 1;
    if (suggestion.kind === "choice" || suggestion.kind === "value") {
      var equals = text.lastIndexOf("=", cursor - 1);
      if (equals >= start) start = equals + 1;
    }
    return [start, cursor];
  }

  // options: {t, el, request(path, body, signal) -> Promise<{status, data}>, conversationId,
  //           onAnswer(answer), renderReply(reply, actions) -> Element}
  function CommandBox(form, options) {
    var t = options.t;
    var el = options.el;
    var input = form.querySelector("input");
    var list = form.querySelector("[role=listbox]");
    var problem = form.querySelector(".box-problem");
    var usage = form.querySelector(".box-usage");
    var toCustomer = form.querySelector(".box-to-customer input");
    var answered = null;   // {text, replace} of the suggestions shown
    var replies = form.parentNode.querySelector(".box-replies");
    var suggestions = [];
    var active = -1;
    var timer = null;
    var inFlight = null;   // AbortController of the /sync/complete request not answered yet
    var generation = 0;    // bumps on every keystroke: answers for an older text are dropped

    input.placeholder = t("boxPlaceholder");
    form.querySelector("label").textContent = t("boxLabel");
    form.querySelector("button[type=submit]").textContent = t("send");
    list.setAttribute("aria-label", t("suggestions"));
    form.querySelector(".box-to-customer span").textContent = t("alsoToCustomer");

    function showProblem(text, code) {
      problem.hidden = !text;
      problem.textContent = text || "";
      if (code) problem.dataset.code = code; else delete problem.dataset.code;
      input.setAttribute("aria-invalid", text ? "true" : "false");
    }

    function close() {
      suggestions = [];
      active = -1;
      list.replaceChildren();
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function paint() {
      list.replaceChildren.apply(list, suggestions.map(function (s, i) {
        var option = el("li", "suggestion kind-" + (s.kind || "value"));
        option.id = "suggestion-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", i === active ? "true" : "false");
        option.append(el("span", "label", s.label), el("span", "detail", s.detail || ""));
        option.addEventListener("mousedown", function (event) { event.preventDefault(); accept(i); });
        return option;
      }));
      list.hidden = suggestions.length === 0;
      input.setAttribute("aria-expanded", suggestions.length ? "true" : "false");
      if (active >= 0) input.setAttribute("aria-activedescendant", "suggestion-" + active);
      else input.removeAttribute("aria-activedescendant");
    }

    function diagnosticText(d) {
      if (!d) return "";
      return (d.message || d.code || "") + (d.hint ? " (" + d.hint + ")" : "");
    }

    function complete() {
      var text = input.value;
      var cursor = input.selectionStart === null ? text.length : input.selectionStart;
      var mine = ++generation;
      if (inFlight) inFlight.abort();
      if (!text.trim()) { close(); showProblem(""); usage.textContent = ""; return; }
      var controller = inFlight = new AbortController();
      options.request("/sync/complete", { text: text, cursor: cursor }, controller.signal).then(function (answer) {
        if (mine !== generation) return;  // the agent typed on meanwhile
        inFlight = null;
        var data = answer.data || {};
        if (answer.status !== 200) { showProblem(options.failure(answer)); close(); return; }
        var diagnostics = data.diagnostics || (data.diagnostic ? [data.diagnostic] : []);
        showProblem(diagnostics.length ? diagnosticText(diagnostics[0]) : "",
                    diagnostics.length ? diagnostics[0].code : "");
        usage.textContent = typeof data.usage === "string" ? data.usage : "";
        answered = { text: text, replace: data.replace };
        suggestions = Array.isArray(data.suggestions) ? data.suggestions.slice(0, 20) : [];
        active = suggestions.length ? 0 : -1;
        paint();
      }, function (error) {
        if (error && error.name === "AbortError") return;
        if (mine === generation) { inFlight = null; close(); }
      });
    }

    function accept(index) {
      var s = suggestions[index];
      if (!s) return;
      var text = input.value;
      var cursor = input.selectionStart === null ? text.length : input.selectionStart;
      var range = replaceRange(text, cursor, s, answered);
      input.value = text.slice(0, range[0]) + s.insert + text.slice(range[1]);
      var at = range[0] + s.insert.length;
      input.setSelectionRange(at, at);
      close();
      input.focus();
      schedule();  // what comes next (the arguments after a command name, the choices after `name=`)
    }

    function schedule() {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(function () { timer = null; complete(); }, DEBOUNCE_MS);
    }

    function send(text, customer) {
      var body = { conversation_id: options.conversationId, text: text, send_to_customer: customer };
      return options.request("/sync/commands", body, undefined).then(function (answer) {
        if (answer.status !== 200) { showProblem(options.failure(answer)); return null; }
        var data = answer.data || {};
        var command = data.command;
        if (command && command.status === "rejected" && command.error) {
          showProblem(command.error.message || command.error.code, command.error.code);
        } else if (customer && data.sent_to_customer === false) {
          showProblem(t("notSentToCustomer"));
        } else {
          showProblem("");
        }
        options.onAnswer(data);
        return data;
      }, function (error) { showProblem(String(error && error.message || error)); return null; });
    }

    // A reply's choice (a quick reply, a postback button: "Confirm" of a confirmation question) is the
    // agent's answer: its payload is run like typed text, shown by its label.
    function choose(payload, label) {
      send(payload, false).then(function (data) { if (data) showAnswer(payload, data, label); });
    }

    function showAnswer(text, data, shown) {
      var command = data.command;
      var entry = el("section", "answer");
      entry.dataset.commandText = text;
      if (command) entry.dataset.status = command.status;
      entry.setAttribute("aria-label", t("reply") + ": " + (shown || text));
      entry.append(el("p", "answer-input", shown || text));
      if (data.sent_to_customer) entry.append(el("p", "sent", t("sentToCustomer")));
      // Offered after the fact only when running it again changes nothing (see the top of this file).
      var forCustomer = command && command.status !== "rejected" && !data.sent_to_customer &&
        options.readOnly(command.command);
      (data.replies || []).forEach(function (reply) {
        var box = options.renderReply(reply, function (payload, label) {
          box.querySelectorAll("button.choice").forEach(function (b) { b.disabled = true; });  // answered once
          choose(payload, label);
        });
        if (forCustomer) {
          var button = el("button", "send-to-customer", t("sendToCustomer"));
          button.type = "button";
          button.addEventListener("click", function () {
            button.disabled = true;
            send(text, true).then(function (sent) {
              if (sent && sent.sent_to_customer) button.replaceWith(el("span", "sent", t("sentToCustomer")));
              else button.disabled = false;
            });
          });
          box.append(button);
        }
        entry.append(box);
      });
      replies.prepend(entry);
      while (replies.childElementCount > 20) replies.lastElementChild.remove();  // bounded history
    }

    input.addEventListener("input", schedule);
    input.addEventListener("keydown", function (event) {
      var open = suggestions.length > 0;
      if (event.key === "ArrowDown" && open) {
        active = (active + 1) % suggestions.length; paint(); event.preventDefault();
      } else if (event.key === "ArrowUp" && open) {
        active = (active - 1 + suggestions.length) % suggestions.length; paint(); event.preventDefault();
      } else if (event.key === "Tab" && open && !event.shiftKey) {
        accept(active < 0 ? 0 : active); event.preventDefault();
      } else if (event.key === "Escape" && open) {
        close(); event.preventDefault();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      generation += 1;  // a suggestion answer still in flight, or still to be asked for, is for text that is gone
      if (timer !== null) { clearTimeout(timer); timer = null; }
      if (inFlight) { inFlight.abort(); inFlight = null; }
      close();
      var customer = toCustomer.checked;
      toCustomer.checked = false;  // a choice for one command, never left on by accident
      send(text, customer).then(function (data) {
        if (!data) return;
        if (!(data.command && data.command.status === "rejected")) { input.value = ""; usage.textContent = ""; }
        showAnswer(text, data);
      });
    });
  }

  window.commandlangCommandBox = CommandBox;
  window.commandlangCommandBox.replaceRange = replaceRange;
})();
