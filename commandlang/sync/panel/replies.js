// A command's reply as the agent sees it in the panel: text, cards, and its choices. A postback button or
// quick reply answers through `choose(payload, label)`; a link button opens its URL in a new tab.
// Everything is set with textContent; nothing of a reply is parsed as HTML.
(function () {
  "use strict";
  var el = window.commandlangCards.el;

  // The service sends only http(s) links (replies/scrub.py); anything else is shown as text, never followed.
  function web(url) { return /^https?:\/\//i.test(String(url || "")); }

  function action(choice, choose) {
    if (choice.kind === "link") {
      if (!web(choice.url)) return el("span", "reply-link", choice.label);
      var link = el("a", "reply-link", choice.label);
      link.href = choice.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    var button = el("button", "choice", choice.label);
    button.type = "button";
    button.addEventListener("click", function () { choose(choice.payload, choice.label); });
    return button;
  }

  function renderReply(reply, choose) {
    var box = el("div", "reply");
    if (reply.text) box.append(el("p", "reply-text", reply.text));
    var all = (reply.cards || []).concat(reply.carousel ? reply.carousel.cards : []);
    all.forEach(function (c) {
      var item = el("div", "reply-card");
      item.append(el("strong", null, c.title));
      if (c.description) item.append(el("p", null, c.description));
      if ((c.actions || []).length) {
        var actions = el("div", "reply-choices");
        c.actions.forEach(function (a) { actions.append(action(a, choose)); });
        item.append(actions);
      }
      box.append(item);
    });
    var choices = (reply.buttons || []).concat(reply.quick_replies || []);
    if (choices.length) {
      var row = el("div", "reply-choices");
      choices.forEach(function (c) { row.append(action(c, choose)); });
      box.append(row);
    }
    (reply.attachments || []).forEach(function (a) {
      if (!web(a.url)) return;
      var link = el("a", "reply-attachment", a.filename || a.url);
      link.href = a.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      box.append(link);
    });
    return box;
  }

  window.commandlangReplies = { render: renderReply };
})();
