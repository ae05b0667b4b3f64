// The agent panel: a conversation's commands (with a command box) or a queue's (for team leads), live from
// the sync hub. URL: /panel?conversation=<id> (or gcConversationId, as a Genesys interaction widget fills it
// in) or ?queue=<id>, &sync=ws://host:port/sync, &gcLangTag=de-DE, and #token=<sync token> (the fragment is
// never sent to servers or in Referer headers). Without a token the panel signs the agent in with Genesys
// (signin.js, window.commandlangSignIn) and renews the grant before it expires.
// Reconnects with exponential backoff and full jitter and resumes after the last seq it saw, so a hub
// restart needs no reload. Browsers answer the hub's WebSocket pings themselves.
(function () {
  "use strict";
  var query = new URLSearchParams(location.search);
  var fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  function param(name) { return query.get(name) || fragment.get(name) || ""; }

  var t = window.commandlangLabels.translator(param("gcLangTag") || param("lang") || navigator.language);
  var format = window.commandlangFormat;
  var cards = window.commandlangCards;
  var el = cards.el;
  // A queue wins over the widget's conversation (docs/genesys.md: a lead's widget adds &queue=ID), as in signin.js.
  var queue = param("queue") || param("queueId");
  var conversation = queue ? "" : param("gcConversationId") || param("conversationId") || param("conversation");
  var scope = conversation ? "conversation:" + conversation : queue ? "queue:" + queue : "";
  var token = fragment.get("token") || query.get("token") || "";
  // The hub's URL: `sync=` in the URL, else what the service says (/panel/config.json), else port 8081 here.
  var syncUrl = param("sync");
  var DEFAULT_SYNC = (location.protocol === "https:" ? "wss://" : "ws://") + location.hostname + ":8081/sync";
  var FATAL = { 4400: 1, 4401: 1, 4403: 1, 4429: 1 };

  var commands = new Map();   // id -> command object, the latest version seen
  var acks = new Map();       // id -> the ack text the command box got while the command runs
  var rendered = new Map();   // id -> {key, node}: the card shown for the command's current version
  var grantRoles = null;      // the roles of a Genesys sign-in's grant
  var outline = null;         // command -> {args: {name: {type}}} from GET /sync/registry, when served
  var outlineLoads = 0;       // bumps with each outline loaded: cards drawn with an older one are redrawn
  var lastSeq = null;         // resume point: the seq of the last snapshot or state applied
  var attempt = 0;
  var socket = null;
  var filter = { status: queue ? "active" : "", command: "" };

  var connection = document.getElementById("connection");
  var problem = document.getElementById("problem");
  var list = document.getElementById("commands");
  document.documentElement.lang = t.lang;
  document.getElementById("title").textContent = queue ? t("queueTitle") : t("title");
  var scopeName = document.getElementById("scope");
  scopeName.textContent = cards.short(conversation || queue);
  scopeName.title = conversation || queue;
  document.querySelectorAll("[data-label]").forEach(function (node) { node.textContent = t(node.dataset.label); });

  function setConnection(state, text) {
    connection.dataset.state = state;
    connection.textContent = text;
    document.body.dataset.connection = state;
  }

  function fail(message) {
    problem.hidden = false;
    problem.textContent = message;
    setConnection("closed", t("closed"));
  }

  function view() {
    return { t: t, format: format, locale: t.lang, outline: outline, acks: acks, showConversation: !!queue,
             now: Date.now() / 1000, canApprove: canApprove, decide: decide };
  }

  // The roles the sync token carries (a grant says them; a token's payload is readable, only its signature is
  // secret). For showing Approve and Deny only: the service checks the roles again.
  function roles() {
    if (grantRoles) return grantRoles;
    try {
      var payload = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
      return Array.isArray(payload.roles) ? payload.roles : ["agent"];
    } catch (e) { return ["agent"]; }
  }

  function canApprove(approval) {
    var mine = roles();
    return (approval.roles || []).some(function (role) { return mine.indexOf(role) >= 0; });
  }

  // POST /sync/approvals/{id} (h17): answered with the record after the answer; later states come live.
  function decide(command, decision, why, onError) {
    var path = "/sync/approvals/" + encodeURIComponent(command.approval.id);
    request(path, { decision: decision, reason: why }).then(function (answer) {
      if (answer.status === 200) onAnswer(answer.data || {});
      else onError(failure(answer));
    }, function (error) { onError(reason(error)); });
  }

  // Cards are kept while their command has not changed, so a focused button or a half-typed reason survives
  // other commands' events; new ones are inserted in place, and nothing already in place is moved.
  function render() {
    var all = Array.from(commands.values());
    var shown = all.filter(function (c) { return cards.matches(c, filter); }).sort(cards.newestFirst);
    var current = view();
    rendered.forEach(function (_, id) { if (!commands.has(id)) rendered.delete(id); });
    var nodes = shown.map(function (c) {
      var key = c.version + "|" + outlineLoads + "|" + (acks.get(c.id) || "");
      var kept = rendered.get(c.id);
      if (kept && kept.key === key) return kept.node;
      var node = cards.card(c, current);
      rendered.set(c.id, { key: key, node: node });
      return node;
    });
    nodes.forEach(function (node, i) { if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null); });
    while (list.children.length > nodes.length) list.lastElementChild.remove();
    cards.tick(list, commands, current);
    var empty = document.getElementById("empty");
    empty.hidden = shown.length > 0;
    empty.textContent = all.length ? t("emptyFiltered") : t("empty");
    document.body.dataset.lastSeq = lastSeq === null ? "" : String(lastSeq);
    if (queue) commandChoices(all);
  }

  // The queue view's filters: every status, and the commands seen so far.
  function setUpFilters() {
    document.getElementById("filters").hidden = false;
    var status = document.getElementById("filter-status");
    var choices = [["active", t("active")], ["", t("allStatuses")]].concat(
      cards.STATUSES.map(function (s) { return [s, cards.statusLabel(s, t)]; }));
    status.replaceChildren.apply(status, choices.map(function (c) {
      var option = el("option", null, c[1]);
      option.value = c[0];
      return option;
    }));
    status.value = filter.status;
    status.addEventListener("change", function () { filter.status = status.value; render(); });
    var command = document.getElementById("filter-command");
    command.addEventListener("change", function () { filter.command = command.value; render(); });
  }

  function commandChoices(all) {
    var select = document.getElementById("filter-command");
    var names = Array.from(new Set(all.map(function (c) { return c.command; }))).sort();
    var wanted = [""].concat(names).join("\n");
    if (select.dataset.names === wanted) return;
    select.dataset.names = wanted;
    select.replaceChildren.apply(select, [["", t("allCommands")]].concat(names.map(function (n) {
      return [n, "/" + n];
    })).map(function (c) {
      var option = el("option", null, c[1]);
      option.value = c[0];
      return option;
    }));
    select.value = filter.command;
  }

  // One short sentence per change for screen readers ("/refund: completed"); the list itself is re-rendered
  // whole and is not a live region, or every change would read every card again.
  function announce(command) {
    if (cards.matches(command, filter)) {
      document.getElementById("announce").textContent = "/" + command.command + ": " + cards.statusLabel(command.status, t);
    }
  }

  function apply(frame) {
    if (frame.type === "snapshot") {
      commands = new Map();
      frame.commands.forEach(function (c) { commands.set(c.id, c); });
      lastSeq = frame.seq;
    } else if (frame.type === "state") {
      if (lastSeq !== null && frame.seq <= lastSeq) return;  // already applied
      var known = commands.get(frame.command.id);
      if (!known || known.version < frame.command.version) {
        commands.set(frame.command.id, frame.command);
        announce(frame.command);
      }
      lastSeq = frame.seq;
    } else {
      if (frame.type === "registry") loadOutline();  // reloaded: argument types may have changed
      return;
    }
    document.body.dataset.lastSeq = String(lastSeq);
    renderSoon();
  }

  // A burst of events (a snapshot's catch-up, a busy queue) is drawn once, not once per event.
  var renderTimer = null;
  function renderSoon() {
    if (renderTimer === null) renderTimer = setTimeout(function () { renderTimer = null; render(); }, 16);
  }

  // POST (or GET without a body) to the service with the sync token; never throws for an HTTP status.
  function request(path, body, signal) {
    var init = { method: body === undefined ? "GET" : "POST", signal: signal,
                 headers: { authorization: "Bearer " + token } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; },
                                   function () { return { status: response.status, data: null }; });
    });
  }

  function failure(answer) {
    var data = answer.data || {};
    var message = typeof data.error === "string" ? data.error : data.error && data.error.message ||
      data.message || "";
    return t("requestFailed", { status: answer.status, message: message });
  }

  function onAnswer(data) {
    var command = data.command;
    if (!command) return;
    var replies = data.replies || [];
    if (!cards.isFinal(command.status) && replies.length && replies[0].text) acks.set(command.id, replies[0].text);
    var known = commands.get(command.id);
    if (!known || known.version < command.version) commands.set(command.id, command);  // before the hub's event
    render();
  }

  function loadOutline() {
    request("/sync/registry").then(function (answer) {
      if (answer.status === 200 && answer.data && answer.data.commands) {
        outline = answer.data.commands;
        outlineLoads += 1;
        render();
      }
    }, function () { /* an older service: arguments stay as sent */ });
  }

  function connect() {
    setConnection("connecting", attempt ? t("reconnecting") : t("connecting"));
    if (attempt && lastSeq !== null) connection.textContent += " · " + t("resumeAfter", { seq: lastSeq });
    var mine = socket = new WebSocket(syncUrl);
    mine.onopen = function () {
      mine.send(JSON.stringify({ type: "hello", token: token, subscribe: [scope], resume_after: lastSeq }));
    };
    mine.onmessage = function (message) {
      if (socket !== mine) return;
      attempt = 0;
      setConnection("live", t("live"));
      problem.hidden = true;
      apply(JSON.parse(message.data));
    };
    mine.onclose = function (event) {
      if (socket !== mine) return;  // replaced (a renewed token): the new socket carries on
      socket = null;
      if (FATAL[event.code]) {
        fail(t("cannotShow", { reason: t("close." + event.code) }));
        document.body.dataset.closeCode = String(event.code);
        if (event.code === 4401 && window.commandlangSignIn) offerSignIn();  // expired: sign in again
        return;
      }
      var delay = Math.random() * Math.min(30000, 250 * Math.pow(2, attempt));  // full jitter
      attempt += 1;
      setConnection("reconnecting", t("reconnecting") + (lastSeq !== null ? " · " + t("resumeAfter", { seq: lastSeq }) : "") +
        (t.has("close." + event.code) ? " · " + t("close." + event.code) : ""));
      setTimeout(connect, event.code === 4408 ? 0 : delay);
    };
  }

  // A renewed grant: the next hello carries the new token; the hub re-checks it at once, resuming after lastSeq.
  function renew(grant) {
    token = grant.token;
    if (Array.isArray(grant.roles)) grantRoles = grant.roles;
    var old = socket;
    socket = null;
    if (old) old.close(1000, "token renewed");
    connect();
  }

  var started = false;
  function start() {
    started = true;
    render();
    if (queue) setUpFilters();
    else {
      document.getElementById("box-area").hidden = false;
      window.commandlangCommandBox(document.getElementById("box"), {
        t: t, el: el, request: request, failure: failure, conversationId: conversation, onAnswer: onAnswer,
        renderReply: window.commandlangReplies.render,
        readOnly: function (name) { return !!(outline && outline[name] && outline[name].read_only); }
      });
    }
    loadOutline();
    findSync().then(connect);
    setInterval(function () { cards.tick(list, commands, view()); }, 5000);
  }

  function findSync() {
    if (syncUrl) return Promise.resolve(syncUrl);
    return fetch("/panel/config.json").then(function (answer) { return answer.ok ? answer.json() : {}; })
      .catch(function () { return {}; })
      .then(function (config) { syncUrl = (config && config.sync_url) || DEFAULT_SYNC; return syncUrl; });
  }

  function reason(error) { return String(error && error.message || error); }

  // signin.js (h16-signin): window.commandlangSignIn(options) -> Promise<grant>; renewals come to onRenew.
  function signIn() {
    setConnection("connecting", t("signingIn"));
    document.getElementById("sign-in").hidden = true;
    window.commandlangSignIn({
      conversation: conversation || undefined, queue: queue || undefined,
      conversationId: conversation || undefined, queueId: queue || undefined,
      hostOrigin: param("gcHostOrigin"), targetEnv: param("gcTargetEnv"), langTag: param("gcLangTag"),
      onRenew: renew,
      onError: function (error) { problem.hidden = false; problem.textContent = t("renewFailed", { reason: reason(error) }); }
    }).then(function (grant) {
      token = grant.token;
      grantRoles = Array.isArray(grant.roles) ? grant.roles : null;
      problem.hidden = true;
      if (started) renew(grant); else start();  // signed in again after the session expired: resume
    },
            function (error) { fail(t("cannotShow", { reason: reason(error) })); offerSignIn(); });
  }

  // Inside the agent desktop's iframe the Genesys login opens in a popup, which browsers allow only from a
  // click: there the panel asks for one; a top-level page signs in at once (a redirect).
  function offerSignIn() {
    var button = document.getElementById("sign-in");
    button.textContent = t("signIn");
    button.hidden = false;
    button.focus();
  }

  function framed() {
    try { return window.self !== window.top; } catch (e) { return true; }
  }

  function loadSignIn() {
    setConnection("connecting", t("signingIn"));
    document.getElementById("sign-in").addEventListener("click", signIn);
    var script = document.createElement("script");
    script.src = "/panel/signin.js";
    script.onload = function () { if (framed()) { setConnection("closed", t("closed")); offerSignIn(); } else signIn(); };
    script.onerror = function () { fail(t("needsToken")); };
    document.head.append(script);
  }

  if (!scope) fail(t("needsScope"));
  else if (token) start();
  else loadSignIn();
})();
