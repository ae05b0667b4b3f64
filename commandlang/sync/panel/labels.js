// The panel's own words, one table per language (the agent's `gcLangTag`, else the browser's).
// Command names, arguments and error messages come from the server as they are; only the panel's
// labels are here. Add a language by adding a table with the same keys; a missing key falls back to English.
(function () {
  "use strict";
  var LABELS = {
    en: {
      title: "Commands", queueTitle: "Queue", empty: "No commands here yet.", emptyFiltered: "No command matches.",
      connecting: "connecting", live: "live", reconnecting: "reconnecting", closed: "not connected",
      signingIn: "signing in", resumeAfter: "resuming after #{seq}",
      "status.awaiting_confirmation": "awaiting confirmation", "status.awaiting_approval": "waiting for approval",
      "status.pending": "pending", "status.executing": "running", "status.completed": "completed",
      "status.failed": "failed", "status.timed_out": "timed out", "status.cancelled": "cancelled",
      "status.rejected": "rejected",
      "role.agent": "agent", "role.customer": "customer", "role.supervisor": "supervisor", "role.bot": "bot",
      by: "by {actor}", inConversation: "conversation {id}", waiting: "waiting {duration}", running: "running {duration}",
      justNow: "just now", filterStatus: "Status", filterCommand: "Command", allStatuses: "all", active: "active",
      allCommands: "all commands", boxLabel: "Command", boxPlaceholder: "/command (Tab completes)",
      send: "Run", sendToCustomer: "Send to customer", sentToCustomer: "sent to customer", suggestions: "Suggestions",
      alsoToCustomer: "Send the reply to the customer", notSentToCustomer: "The reply could not be sent to the customer.",
      signIn: "Sign in with Genesys Cloud", renewFailed: "Your sign-in could not be renewed: {reason}",
      approvalBy: "needs approval by: {roles}", approve: "Approve", deny: "Deny", reason: "reason (optional)",
      "approval.approved": "approved by {by}", "approval.denied": "denied by {by}",
      "approval.timed_out": "no approval in time",
      reply: "Reply", masked: "hidden", yes: "yes", no: "no", ackWhileRunning: "still running: {ack}",
      "close.4400": "the panel sent a bad hello", "close.4401": "your session is invalid or has expired",
      "close.4403": "you may not watch this conversation or queue", "close.4408": "too slow: resuming",
      "close.4429": "too many open panels for this agent", "close.1001": "the service is restarting",
      cannotShow: "Cannot show commands: {reason}.", needsScope: "The panel needs ?conversation=<id> or ?queue=<id>.",
      needsToken: "No sign-in: open the panel from Genesys Cloud or with a token (#token=...).",
      requestFailed: "The service answered {status}: {message}",
      agoSeconds: "{n} s ago", agoMinutes: "{n} min ago", agoHours: "{n} h ago", agoDays: "{n} d ago"
    },
    de: {
      title: "Befehle", queueTitle: "Warteschlange", empty: "Noch keine Befehle.", emptyFiltered: "Kein Befehl passt.",
      connecting: "verbinde", live: "live", reconnecting: "verbinde neu", closed: "nicht verbunden",
      signingIn: "melde an", resumeAfter: "fortsetzen nach #{seq}",
      "status.awaiting_confirmation": "wartet auf Bestätigung", "status.awaiting_approval": "wartet auf Freigabe",
      "status.pending": "wartet", "status.executing": "läuft", "status.completed": "erledigt",
      "status.failed": "fehlgeschlagen", "status.timed_out": "Zeit überschritten", "status.cancelled": "abgebrochen",
      "status.rejected": "abgelehnt",
      "role.agent": "Agent", "role.customer": "Kunde", "role.supervisor": "Supervisor", "role.bot": "Bot",
      by: "von {actor}", inConversation: "Konversation {id}", waiting: "wartet seit {duration}",
      running: "läuft seit {duration}", justNow: "gerade eben", filterStatus: "Status", filterCommand: "Befehl",
      allStatuses: "alle", active: "aktiv", allCommands: "alle Befehle", boxLabel: "Befehl",
      boxPlaceholder: "/befehl (Tab ergänzt)", send: "Ausführen",
      sendToCustomer: "An Kunden senden", sentToCustomer: "an Kunden gesendet", suggestions: "Vorschläge",
      alsoToCustomer: "Antwort an den Kunden senden",
      notSentToCustomer: "Die Antwort konnte nicht an den Kunden gesendet werden.",
      signIn: "Mit Genesys Cloud anmelden", renewFailed: "Deine Anmeldung konnte nicht erneuert werden: {reason}",
      approvalBy: "braucht Freigabe durch: {roles}", approve: "Freigeben", deny: "Ablehnen",
      reason: "Grund (optional)", "approval.approved": "freigegeben von {by}", "approval.denied": "abgelehnt von {by}",
      "approval.timed_out": "keine Freigabe rechtzeitig",
      reply: "Antwort", masked: "verborgen", yes: "ja", no: "nein", ackWhileRunning: "läuft noch: {ack}",
      "close.4400": "das Panel hat eine ungültige Anmeldung gesendet",
      "close.4401": "deine Sitzung ist ungültig oder abgelaufen",
      "close.4403": "du darfst diese Konversation oder Warteschlange nicht sehen",
      "close.4408": "zu langsam: setze fort", "close.4429": "zu viele offene Panels für diesen Agenten",
      "close.1001": "der Dienst startet neu", cannotShow: "Befehle können nicht angezeigt werden: {reason}.",
      needsScope: "Das Panel braucht ?conversation=<id> oder ?queue=<id>.",
      needsToken: "Keine Anmeldung: öffne das Panel aus Genesys Cloud oder mit einem Token (#token=...).",
      requestFailed: "Der Dienst antwortete {status}: {message}",
      agoSeconds: "vor {n} s", agoMinutes: "vor {n} min", agoHours: "vor {n} h", agoDays: "vor {n} d"
    }
  };

  // "de-DE" -> "de"; unknown languages get English.
  function pick(tag) {
    var base = String(tag || "").toLowerCase().split(/[-_]/)[0];
    return Object.prototype.hasOwnProperty.call(LABELS, base) ? base : "en";
  }

  function translator(tag) {
    var lang = pick(tag);
    var table = LABELS[lang];
    function t(key, vars) {
      var text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : LABELS.en[key];
      if (text === undefined) return key;
      return text.replace(/\{(\w+)\}/g, function (_, name) {
        return vars && vars[name] !== undefined ? String(vars[name]) : "";
      });
    }
    t.lang = lang;
    t.has = function (key) { return Object.prototype.hasOwnProperty.call(LABELS.en, key); };
    return t;
  }

  window.commandlangLabels = { LABELS: LABELS, translator: translator };
})();
