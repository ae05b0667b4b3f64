// Commands as cards (a list, not a table: a Genesys side panel is 300-400 px wide), newest first.
// Every value is set with textContent: command data is never parsed as HTML.
(function () {
  "use strict";
  var FINAL = { completed: 1, failed: 1, timed_out: 1, cancelled: 1, rejected: 1 };
  var WAITING = { awaiting_confirmation: 1, awaiting_approval: 1, pending: 1 };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function isFinal(status) { return FINAL[status] === 1; }

  // Genesys ids are UUIDs: 36 characters that say little at 320 px. Shown by their first 8, whole on hover
  // (title) and in data-id.
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  function short(id) { return UUID.test(String(id)) ? String(id).slice(0, 8) + "…" : String(id); }

  function idSpan(className, text, id) {
    var span = el("span", className, text);
    span.dataset.id = id;
    if (UUID.test(String(id))) span.title = String(id);
    return span;
  }

  // "waiting 3 min" since it was asked, "running 12 s" since it started executing; null once final.
  function elapsed(command, now, t, format) {
    if (WAITING[command.status]) return t("waiting", { duration: format.duration(now - command.created_at) });
    if (command.status === "executing") return t("running", { duration: format.duration(now - command.updated_at) });
    return null;
  }

  function statusLabel(status, t) {
    var key = "status." + status;
    return t.has(key) ? t(key) : status.replace(/_/g, " ");
  }

  // view: {t, format, locale, outline (name -> {args: {name: {type}}}) or null, acks (id -> text),
  //        showConversation, now}
  function card(command, view) {
    var t = view.t;
    var item = el("li", "card status-" + command.status);
    item.dataset.commandId = command.id;
    item.dataset.status = command.status;
    item.dataset.command = command.command;
    item.setAttribute("aria-label", "/" + command.command + ", " + statusLabel(command.status, t));

    var head = el("div", "card-head");
    head.append(el("span", "command-name", "/" + command.command),
                el("span", "status", statusLabel(command.status, t)));
    item.append(head);

    var spec = view.outline && view.outline[command.command];
    var args = el("dl", "args");
    Object.keys(command.args || {}).forEach(function (name) {
      var argSpec = spec && spec.args && spec.args[name];
      var shown = view.format.argument(command.args[name], argSpec ? argSpec.type : undefined, t, view.locale);
      if (shown === null) return;  // unset arguments are not worth a line
      var pair = el("div", "arg");
      pair.dataset.arg = name;
      pair.append(el("dt", null, name), el("dd", null, shown));
      args.append(pair);
    });
    if (args.childElementCount) item.append(args);

    if (command.error) {
      var error = el("p", "error", command.error.message || command.error.code);
      if (command.error.code) error.dataset.code = command.error.code;
      item.append(error);
    }
    if (command.approval) item.append(approvalPart(command, view));
    var ack = view.acks.get(command.id);
    if (ack && !isFinal(command.status)) item.append(el("p", "ack", t("ackWhileRunning", { ack: ack })));
    else if (!ack && spec && spec.acks && command.status === "executing") item.append(el("p", "ack", t("ackSent")));

    var meta = el("p", "meta");
    var role = command.role ? (t.has("role." + command.role) ? t("role." + command.role) : command.role) : "";
    meta.append(idSpan("actor", t("by", { actor: short(command.actor) }) + (role ? " (" + role + ")" : ""),
                       command.actor));
    if (view.showConversation) {
      meta.append(idSpan("conversation", t("inConversation", { id: short(command.conversation_id) }),
                         command.conversation_id));
    }
    var when = el("time", "updated", view.format.relative(command.updated_at, view.now, t));
    when.dataset.ts = String(command.updated_at);
    when.dateTime = new Date(command.updated_at * 1000).toISOString();
    when.title = new Date(command.updated_at * 1000).toLocaleString(view.locale);
    meta.append(when);
    var running = elapsed(command, view.now, t, view.format);
    if (running) meta.append(el("span", "elapsed", running));
    item.append(meta);
    return item;
  }

  // The record's approval object (h17): {id, roles, requested_by, expires_at[, decision, decided_by, reason]}.
  // While it waits, an agent whose token has one of its roles gets Approve and Deny (with an optional reason).
  function approvalPart(command, view) {
    var t = view.t;
    var approval = command.approval;
    var part = el("div", "approval");
    var roles = (approval.roles || []).map(function (r) { return t.has("role." + r) ? t("role." + r) : r; });
    if (approval.decision) {
      part.append(el("p", null, t("approval." + approval.decision, { by: approval.decided_by || "" }) +
                                (approval.reason ? " (" + approval.reason + ")" : "")));
      return part;
    }
    if (command.status !== "awaiting_approval") return part;
    part.append(el("p", null, t("approvalBy", { roles: roles.join(", ") })));
    if (!view.canApprove(approval)) return part;
    var reason = el("input", "approval-reason");
    reason.type = "text";
    reason.maxLength = 200;
    reason.placeholder = t("reason");
    reason.setAttribute("aria-label", t("reason"));
    var approve = el("button", "approve", t("approve"));
    var deny = el("button", "deny", t("deny"));
    [approve, deny].forEach(function (button) {
      button.type = "button";
      button.addEventListener("click", function () {
        approve.disabled = deny.disabled = true;
        view.decide(command, button === approve ? "approve" : "deny", reason.value.trim() || null, function (error) {
          approve.disabled = deny.disabled = false;
          var shown = part.querySelector(".approval-problem") || el("p", "approval-problem");
          shown.textContent = error;
          part.append(shown);
        });
      });
    });
    var actions = el("div", "approval-actions");
    actions.append(approve, deny, reason);
    part.append(actions);
    return part;
  }

  function newestFirst(a, b) {
    return b.created_at - a.created_at || (a.id < b.id ? 1 : -1);
  }

  // filter: {status: "" | "active" | a status, command: "" | a command name}
  function matches(command, filter) {
    if (filter.status === "active" && isFinal(command.status)) return false;
    if (filter.status && filter.status !== "active" && command.status !== filter.status) return false;
    return !filter.command || command.command === filter.command;
  }

  // Refresh only the times (relative and elapsed) of cards already shown: no re-render, focus stays.
  function tick(list, commands, view) {
    list.querySelectorAll("li.card").forEach(function (item) {
      var command = commands.get(item.dataset.commandId);
      if (!command) return;
      var when = item.querySelector("time.updated");
      if (when) when.textContent = view.format.relative(command.updated_at, view.now, view.t);
      var running = item.querySelector(".elapsed");
      if (running) running.textContent = elapsed(command, view.now, view.t, view.format) || "";
    });
  }

  window.commandlangCards = { card: card, short: short, newestFirst: newestFirst, matches: matches, tick: tick,
                              isFinal: isFinal, statusLabel: statusLabel, el: el,
                              STATUSES: ["awaiting_confirmation", "awaiting_approval", "pending", "executing",
                                         "completed", "failed", "timed_out", "cancelled", "rejected"] };
})();
