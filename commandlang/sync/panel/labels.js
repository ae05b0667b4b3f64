// The panel's own words, one table per language (the agent's `gcLangTag`, else the browser's).
// Command names, arguments and error messages come from the server as they are; only the panel's
// labels are here: English, German, French, Spanish and Dutch, the languages of the service's own texts
// (commandlang/locale). Add a language by adding a table with the same keys; a missing key falls back to English.
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
      reply: "Reply", masked: "hidden", yes: "yes", no: "no", ackWhileRunning: "still running: {ack}", ackSent: "the customer was told it is on its way",
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
      signIn: "Mit Genesys Cloud anmelden", renewFailed: "Ihre Anmeldung konnte nicht erneuert werden: {reason}",
      approvalBy: "braucht Freigabe durch: {roles}", approve: "Freigeben", deny: "Ablehnen",
      reason: "Grund (optional)", "approval.approved": "freigegeben von {by}", "approval.denied": "abgelehnt von {by}",
      "approval.timed_out": "keine Freigabe rechtzeitig",
      reply: "Antwort", masked: "verborgen", yes: "ja", no: "nein", ackWhileRunning: "läuft noch: {ack}", ackSent: "dem Kunden wurde gesagt, dass es unterwegs ist",
      "close.4400": "das Panel hat eine ungültige Anmeldung gesendet",
      "close.4401": "Ihre Sitzung ist ungültig oder abgelaufen",
      "close.4403": "Sie dürfen diese Konversation oder Warteschlange nicht sehen",
      "close.4408": "zu langsam: setze fort", "close.4429": "zu viele offene Panels für diesen Agenten",
      "close.1001": "der Dienst startet neu", cannotShow: "Befehle können nicht angezeigt werden: {reason}.",
      needsScope: "Das Panel braucht ?conversation=<id> oder ?queue=<id>.",
      needsToken: "Keine Anmeldung: öffnen Sie das Panel aus Genesys Cloud oder mit einem Token (#token=...).",
      requestFailed: "Der Dienst antwortete {status}: {message}",
      agoSeconds: "vor {n} s", agoMinutes: "vor {n} min", agoHours: "vor {n} h", agoDays: "vor {n} d"
    },
    fr: {
      title: "Commandes", queueTitle: "File d’attente", empty: "Aucune commande pour l’instant.",
      emptyFiltered: "Aucune commande ne correspond.", connecting: "connexion", live: "en direct",
      reconnecting: "reconnexion", closed: "non connecté", signingIn: "connexion en cours",
      resumeAfter: "reprise après #{seq}",
      "status.awaiting_confirmation": "attend une confirmation", "status.awaiting_approval": "attend une approbation",
      "status.pending": "en attente", "status.executing": "en cours", "status.completed": "terminée",
      "status.failed": "échouée", "status.timed_out": "délai dépassé", "status.cancelled": "annulée",
      "status.rejected": "refusée",
      "role.agent": "agent", "role.customer": "client", "role.supervisor": "superviseur", "role.bot": "bot",
      by: "par {actor}", inConversation: "conversation {id}", waiting: "attend depuis {duration}",
      running: "en cours depuis {duration}", justNow: "à l’instant", filterStatus: "Statut", filterCommand: "Commande",
      allStatuses: "tous", active: "actives", allCommands: "toutes les commandes", boxLabel: "Commande",
      boxPlaceholder: "/commande (Tab complète)", send: "Exécuter", sendToCustomer: "Envoyer au client",
      sentToCustomer: "envoyée au client", suggestions: "Suggestions",
      alsoToCustomer: "Envoyer la réponse au client",
      notSentToCustomer: "La réponse n’a pas pu être envoyée au client.",
      signIn: "Se connecter avec Genesys Cloud", renewFailed: "Votre connexion n’a pas pu être renouvelée : {reason}",
      approvalBy: "à approuver par : {roles}", approve: "Approuver", deny: "Refuser", reason: "motif (facultatif)",
      "approval.approved": "approuvée par {by}", "approval.denied": "refusée par {by}",
      "approval.timed_out": "pas d’approbation à temps",
      reply: "Réponse", masked: "masqué", yes: "oui", no: "non", ackWhileRunning: "toujours en cours : {ack}", ackSent: "le client a été prévenu que c’est en cours",
      "close.4400": "le panneau a envoyé un hello invalide", "close.4401": "votre session est invalide ou expirée",
      "close.4403": "vous ne pouvez pas suivre cette conversation ou cette file",
      "close.4408": "trop lent : reprise", "close.4429": "trop de panneaux ouverts pour cet agent",
      "close.1001": "le service redémarre", cannotShow: "Impossible d’afficher les commandes : {reason}.",
      needsScope: "Le panneau a besoin de ?conversation=<id> ou ?queue=<id>.",
      needsToken: "Pas de connexion : ouvrez le panneau depuis Genesys Cloud ou avec un jeton (#token=...).",
      requestFailed: "Le service a répondu {status} : {message}",
      agoSeconds: "il y a {n} s", agoMinutes: "il y a {n} min", agoHours: "il y a {n} h", agoDays: "il y a {n} j"
    },
    es: {
      title: "Comandos", queueTitle: "Cola", empty: "Todavía no hay comandos.", emptyFiltered: "Ningún comando coincide.",
      connecting: "conectando", live: "en vivo", reconnecting: "reconectando", closed: "sin conexión",
      signingIn: "iniciando sesión", resumeAfter: "reanudando tras #{seq}",
      "status.awaiting_confirmation": "espera confirmación", "status.awaiting_approval": "espera aprobación",
      "status.pending": "pendiente", "status.executing": "en curso", "status.completed": "completado",
      "status.failed": "fallido", "status.timed_out": "tiempo agotado", "status.cancelled": "cancelado",
      "status.rejected": "rechazado",
      "role.agent": "agente", "role.customer": "cliente", "role.supervisor": "supervisor", "role.bot": "bot",
      by: "por {actor}", inConversation: "conversación {id}", waiting: "esperando {duration}",
      running: "en curso {duration}", justNow: "ahora mismo", filterStatus: "Estado", filterCommand: "Comando",
      allStatuses: "todos", active: "activos", allCommands: "todos los comandos", boxLabel: "Comando",
      boxPlaceholder: "/comando (Tab completa)", send: "Ejecutar", sendToCustomer: "Enviar al cliente",
      sentToCustomer: "enviado al cliente", suggestions: "Sugerencias",
      alsoToCustomer: "Enviar la respuesta al cliente",
      notSentToCustomer: "No se pudo enviar la respuesta al cliente.",
      signIn: "Iniciar sesión con Genesys Cloud", renewFailed: "No se pudo renovar su sesión: {reason}",
      approvalBy: "requiere aprobación de: {roles}", approve: "Aprobar", deny: "Rechazar", reason: "motivo (opcional)",
      "approval.approved": "aprobado por {by}", "approval.denied": "rechazado por {by}",
      "approval.timed_out": "sin aprobación a tiempo",
      reply: "Respuesta", masked: "oculto", yes: "sí", no: "no", ackWhileRunning: "todavía en curso: {ack}", ackSent: "se avisó al cliente de que está en curso",
      "close.4400": "el panel envió un saludo no válido", "close.4401": "su sesión no es válida o ha caducado",
      "close.4403": "no puede ver esta conversación o cola", "close.4408": "demasiado lento: reanudando",
      "close.4429": "demasiados paneles abiertos para este agente", "close.1001": "el servicio se está reiniciando",
      cannotShow: "No se pueden mostrar los comandos: {reason}.",
      needsScope: "El panel necesita ?conversation=<id> o ?queue=<id>.",
      needsToken: "Sin sesión: abra el panel desde Genesys Cloud o con un token (#token=...).",
      requestFailed: "El servicio respondió {status}: {message}",
      agoSeconds: "hace {n} s", agoMinutes: "hace {n} min", agoHours: "hace {n} h", agoDays: "hace {n} d"
    },
    nl: {
      title: "Opdrachten", queueTitle: "Wachtrij", empty: "Nog geen opdrachten.", emptyFiltered: "Geen opdracht past.",
      connecting: "verbinden", live: "live", reconnecting: "opnieuw verbinden", closed: "niet verbonden",
      signingIn: "aanmelden", resumeAfter: "hervatten na #{seq}",
      "status.awaiting_confirmation": "wacht op bevestiging", "status.awaiting_approval": "wacht op goedkeuring",
      "status.pending": "in afwachting", "status.executing": "bezig", "status.completed": "voltooid",
      "status.failed": "mislukt", "status.timed_out": "tijd verstreken", "status.cancelled": "geannuleerd",
      "status.rejected": "afgewezen",
      "role.agent": "agent", "role.customer": "klant", "role.supervisor": "supervisor", "role.bot": "bot",
      by: "door {actor}", inConversation: "gesprek {id}", waiting: "wacht al {duration}", running: "bezig sinds {duration}",
      justNow: "zojuist", filterStatus: "Status", filterCommand: "Opdracht", allStatuses: "alle", active: "actief",
      allCommands: "alle opdrachten", boxLabel: "Opdracht", boxPlaceholder: "/opdracht (Tab vult aan)",
      send: "Uitvoeren", sendToCustomer: "Naar klant sturen", sentToCustomer: "naar klant gestuurd",
      suggestions: "Suggesties", alsoToCustomer: "Het antwoord naar de klant sturen",
      notSentToCustomer: "Het antwoord kon niet naar de klant worden gestuurd.",
      signIn: "Aanmelden met Genesys Cloud", renewFailed: "Uw aanmelding kon niet worden vernieuwd: {reason}",
      approvalBy: "goedkeuring nodig van: {roles}", approve: "Goedkeuren", deny: "Afwijzen", reason: "reden (optioneel)",
      "approval.approved": "goedgekeurd door {by}", "approval.denied": "afgewezen door {by}",
      "approval.timed_out": "niet op tijd goedgekeurd",
      reply: "Antwoord", masked: "verborgen", yes: "ja", no: "nee", ackWhileRunning: "nog bezig: {ack}", ackSent: "de klant weet dat het onderweg is",
      "close.4400": "het paneel stuurde een ongeldige hello", "close.4401": "uw sessie is ongeldig of verlopen",
      "close.4403": "u mag dit gesprek of deze wachtrij niet volgen", "close.4408": "te traag: hervatten",
      "close.4429": "te veel open panelen voor deze agent", "close.1001": "de dienst start opnieuw",
      cannotShow: "Opdrachten kunnen niet worden getoond: {reason}.",
      needsScope: "Het paneel heeft ?conversation=<id> of ?queue=<id> nodig.",
      needsToken: "Niet aangemeld: open het paneel vanuit Genesys Cloud of met een token (#token=...).",
      requestFailed: "De dienst antwoordde {status}: {message}",
      agoSeconds: "{n} s geleden", agoMinutes: "{n} min geleden", agoHours: "{n} u geleden", agoDays: "{n} d geleden"
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
