// The agent panel: one conversation's commands and their live states, from the sync hub.
// URL: /panel?conversation=<id>&sync=ws://host:port/sync&token=<t>  (token may also be in the #fragment,
// which browsers never send to servers or put in Referer headers: prefer it).
// Reconnects with exponential backoff and full jitter and resumes after the last seq it saw, so a hub
// restart needs no reload. Browsers answer the hub's WebSocket pings themselves.
(function () {
  "use strict";
  var query = new URLSearchParams(location.search);
  var fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  var conversation = query.get("conversation") || fragment.get("conversation");
  var token = fragment.get("token") || query.get("token");
  var syncUrl = query.get("sync") || fragment.get("sync") ||
    (location.protocol === "https:" ? "wss://" : "ws://") + location.hostname + ":8081/sync";
  var FATAL = { 4400: "the panel sent a bad hello", 4401: "your session token is invalid or expired",
                4403: "your token does not allow this conversation" };
  var commands = new Map();   // id -> command object, the latest version seen
  var lastSeq = null;         // resume point: the seq of the last snapshot or state applied
  var attempt = 0;
  var socket = null;

  var connection = document.getElementById("connection");
  var problem = document.getElementById("problem");
  document.getElementById("conversation").textContent = conversation || "";

  function setConnection(state, text) {
    connection.dataset.state = state;
    connection.textContent = text;
    document.body.dataset.connection = state;
  }

  function fail(message) {
    problem.hidden = false;
    problem.textContent = message;
    setConnection("refused", "not connected");
  }

  function render() {
    var body = document.querySelector("#commands tbody");
    var rows = Array.from(commands.values()).sort(function (a, b) {
      return a.created_at - b.created_at || (a.id < b.id ? -1 : 1);
    });
    body.replaceChildren.apply(body, rows.map(row));
    document.getElementById("empty").hidden = rows.length > 0;
    document.body.dataset.lastSeq = lastSeq === null ? "" : String(lastSeq);
  }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;       // textContent only: command data is never parsed as HTML
    if (className) td.className = className;
    return td;
  }

  function row(command) {
    var tr = document.createElement("tr");
    tr.dataset.commandId = command.id;
    tr.dataset.status = command.status;
    var args = Object.keys(command.args || {}).map(function (k) { return k + "=" + command.args[k]; }).join(" ");
    var status = cell(command.status.replace("_", " "), "status status-" + command.status);
    if (command.error) {
      var detail = document.createElement("span");
      detail.className = "error";
      detail.textContent = command.error.message || command.error.code;
      status.appendChild(detail);
    }
    tr.append(cell("/" + command.command), cell(args, "args"), status, cell(command.actor),
              cell(new Date(command.updated_at * 1000).toLocaleTimeString()));
    return tr;
  }

  function apply(frame) {
    if (frame.type === "snapshot") {
      commands = new Map();
      frame.commands.forEach(function (c) { commands.set(c.id, c); });
      lastSeq = frame.seq;
    } else if (frame.type === "state") {
      if (lastSeq !== null && frame.seq <= lastSeq) return;  // already applied
      var known = commands.get(frame.command.id);
      if (!known || known.version < frame.command.version) commands.set(frame.command.id, frame.command);
      lastSeq = frame.seq;
    } else {
      return;
    }
    render();
  }

  function connect() {
    setConnection("connecting", attempt ? "reconnecting" : "connecting");
    socket = new WebSocket(syncUrl);
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", token: token, subscribe: ["conversation:" + conversation],
                                   resume_after: lastSeq }));
    };
    socket.onmessage = function (message) {
      attempt = 0;
      setConnection("live", "live");
      problem.hidden = true;
      apply(JSON.parse(message.data));
    };
    socket.onclose = function (event) {
      socket = null;
      if (FATAL[event.code]) { fail("Cannot show commands: " + FATAL[event.code] + "."); return; }
      var delay = Math.random() * Math.min(30000, 250 * Math.pow(2, attempt));  // full jitter
      attempt += 1;
      setConnection("connecting", "reconnecting");
      setTimeout(connect, event.code === 4408 ? 0 : delay);
    };
  }

  if (!conversation || !token) {
    fail("The panel needs ?conversation=<id> and a token (#token=... or ?token=...).");
  } else {
    render();
    connect();
  }
})();
