// Sign an agent in with Genesys Cloud and exchange their access token for a sync token (POST /sync/token).
//
//   <script src="/panel/signin.js"></script>
//   window.commandlangSignIn({onRenew: function (grant) { ... }}).then(function (grant) { ... });
//
// grant = {token, expires_at (epoch seconds), agent, name, scopes, roles}. What to watch comes from
// `options.conversation` / `options.queue`, else from the page URL an interaction widget fills in:
// gcConversationId (also conversationId, conversation), queue (also queueId); gcHostOrigin,
// gcTargetEnv and gcLangTag are read too (`commandlangSignIn.page()`).
// The OAuth client (GET /panel/config.json): authorization code with PKCE (S256, WebCrypto) when the
// service says grant "code", the implicit grant for "token". Inside the agent desktop's iframe the
// Genesys login page is opened in a popup (identity providers refuse to be framed; call this from a
// click so the browser lets the popup open); in a top-level page the page itself goes to the login
// and comes back through /panel/signin.html, the client's redirect URI. The sync token is renewed a
// minute before it expires; each new grant goes to `options.onRenew(grant)`, a failure to
// `options.onError(error)`. The Genesys token stays in this tab (memory, and sessionStorage after a
// top-level redirect, as Genesys's own SDK keeps it); the service never keeps it.
// No inline script, no CDN, nothing parsed as HTML.
(function () {
  "use strict";
  var PENDING = "commandlang.signin.pending"; // sessionStorage: the redirect sign-in under way
  var KEPT = "commandlang.signin.genesys"; // sessionStorage: {access_token, expires_at} after a redirect
  var MESSAGE = "commandlang-signin";
  var script = document.currentScript;
  var base = script && script.src ? new URL(script.src).origin : location.origin;
  var redirectUri = base + "/panel/signin.html";
  var renewal = null; // the pending renewal timer (one per page)
  var genesysToken = null; // {access_token, expires_at} of this page's sign-in

  function b64url(bytes) {
    var text = "";
    new Uint8Array(bytes).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(size) {
    return b64url(crypto.getRandomValues(new Uint8Array(size)));
  }

  function challengeOf(verifier) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(b64url);
  }

  function page() {
    var q = new URLSearchParams(location.search);
    return {
      conversation: q.get("gcConversationId") || q.get("conversationId") || q.get("conversation"),
      queue: q.get("queue") || q.get("queueId"),
      hostOrigin: q.get("gcHostOrigin"),
      targetEnv: q.get("gcTargetEnv"),
      lang: q.get("gcLangTag"),
    };
  }

  function framed() {
    try { return window.self !== window.top; } catch (e) { return true; }
  }

  function failure(message, status) {
    var error = new Error(message);
    error.status = status || 0;
    return error;
  }

  function loadConfig() {
    return fetch(base + "/panel/config.json", { credentials: "same-origin" }).then(function (answer) {
      if (!answer.ok) throw failure("the panel's configuration did not load (" + answer.status + ")", answer.status);
      return answer.json();
    }).then(function (config) {
      if (!config.signin || !config.signin.client_id) {
        throw failure("Genesys sign-in is not configured on this service (GENESYS_PANEL_CLIENT_ID)");
      }
      return config;
    });
  }

  function callbackParams(loc) {
    var params = new URLSearchParams(loc.search);
    new URLSearchParams(loc.hash.replace(/^#/, "")).forEach(function (value, key) { params.set(key, value); });
    var out = {};
    ["code", "state", "access_token", "expires_in", "error", "error_description"].forEach(function (key) {
      if (params.has(key)) out[key] = params.get(key);
    });
    return out;
  }

  // the end of a browser grant: the callback's parameters -> {access_token, expires_at}
  function finish(config, params, verifier) {
    if (params.error) {
      return Promise.reject(failure("Genesys sign-in failed: " + (params.error_description || params.error), 401));
    }
    if (params.access_token) {
      var life = Number(params.expires_in) || 3600;
      return Promise.resolve({ access_token: params.access_token, expires_at: Date.now() + life * 1000 });
    }
    if (!params.code || !verifier) return Promise.reject(failure("Genesys sign-in returned no code", 401));
    var form = new URLSearchParams({
      grant_type: "authorization_code",
      code: params.code,
      redirect_uri: redirectUri,
      client_id: config.signin.client_id,
      code_verifier: verifier,
    });
    return fetch(config.signin.token_url, { method: "POST", body: form, credentials: "omit" }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (body) {
        if (!answer.ok || !body.access_token) {
          throw failure("Genesys refused the sign-in code (" + (body.error || answer.status) + ")", 401);
        }
        return { access_token: body.access_token, expires_at: Date.now() + (Number(body.expires_in) || 3600) * 1000 };
      });
    });
  }

  function viaPopup(url, state) {
    return new Promise(function (resolve, reject) {
      var popup = window.open(url, MESSAGE, "popup,width=480,height=640");
      if (!popup) {
        reject(failure("the browser blocked the Genesys sign-in window: click Sign in to try again"));
        return;
      }
      var watch = setInterval(function () {
        if (popup.closed) { done(); reject(failure("the Genesys sign-in window was closed")); }
      }, 500);
      function done() { clearInterval(watch); window.removeEventListener("message", onMessage); }
      function onMessage(event) {
        var data = event.data;
        if (event.origin !== base || event.source !== popup || !data || data.type !== MESSAGE || data.state !== state) {
          return; // not our popup's answer
        }
        done();
        resolve(data.params);
      }
      window.addEventListener("message", onMessage);
    });
  }

  function signInToGenesys(config, options) {
    var kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(KEPT) || "null"); } catch (e) { kept = null; }
    if (kept && kept.access_token && kept.expires_at > Date.now() + 60000) return Promise.resolve(kept);
    var pkce = config.signin.grant !== "token";
    var state = randomString(16);
    var verifier = pkce ? randomString(48) : null;
    return (pkce ? challengeOf(verifier) : Promise.resolve(null)).then(function (challenge) {
      var query = new URLSearchParams({
        client_id: config.signin.client_id,
        response_type: pkce ? "code" : "token",
        redirect_uri: redirectUri,
        state: state,
      });
      if (pkce) { query.set("code_challenge", challenge); query.set("code_challenge_method", "S256"); }
      var url = config.signin.authorize_url + "?" + query.toString();
      var popup = options.popup === undefined ? framed() : options.popup;
      if (popup) return viaPopup(url, state).then(function (params) { return finish(config, params, verifier); });
      sessionStorage.setItem(PENDING, JSON.stringify({ state: state, verifier: verifier, back: location.href }));
      location.assign(url);
      return new Promise(function () {}); // the page leaves; it resumes when the redirect brings it back
    });
  }

  function syncToken(accessToken, scope) {
    return fetch(base + "/sync/token", {
      method: "POST",
      headers: { "Authorization": "Bearer " + accessToken, "Content-Type": "application/json" },
      body: JSON.stringify(scope),
      credentials: "omit",
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (body) {
        if (answer.ok) return body;
        throw failure(body.reason || body.error || "the sign-in was refused (" + answer.status + ")", answer.status);
      });
    });
  }

  function scheduleRenewal(grant, scope, options) {
    if (renewal !== null) clearTimeout(renewal);
    var wait = Math.max(5000, grant.expires_at * 1000 - Date.now() - 60000);
    renewal = setTimeout(function () {
      renewal = null;
      syncToken(genesysToken.access_token, scope).then(function (next) {
        scheduleRenewal(next, scope, options);
        if (options.onRenew) options.onRenew(next);
      }, function (error) {
        if (error.status === 503 || error.status === 0) { // Genesys or the service busy: try again soon
          renewal = setTimeout(function () { scheduleRenewal({ expires_at: 0 }, scope, options); }, 15000);
        }
        if (options.onError) options.onError(error);
      });
    }, wait);
  }

  function commandlangSignIn(options) {
    options = options || {};
    var from = page();
    var scope = options.queue ? { queue: options.queue }
      : options.conversation ? { conversation: options.conversation }
      : from.queue ? { queue: from.queue }
      : from.conversation ? { conversation: from.conversation } : null;
    if (!scope) {
      return Promise.reject(failure("nothing to watch: the widget URL needs gcConversationId={{gcConversationId}} or queue=ID"));
    }
    return loadConfig().then(function (config) {
      return signInToGenesys(config, options).then(function (token) {
        genesysToken = token;
        return syncToken(token.access_token, scope).catch(function (error) {
          if (error.status !== 401) throw error;
          sessionStorage.removeItem(KEPT); // Genesys no longer takes it: sign in once more
          return signInToGenesys(config, options).then(function (fresh) {
            genesysToken = fresh;
            return syncToken(fresh.access_token, scope);
          });
        });
      });
    }).then(function (grant) {
      scheduleRenewal(grant, scope, options);
      return grant;
    });
  }

  // On the redirect URI page: hand the answer to the window that opened the popup, or finish the redirect.
  function handleCallback() {
    var status = document.getElementById("signin-status");
    function say(text) { if (status) status.textContent = text; }
    var params = callbackParams(location);
    if (!params.state) { say("Nothing to do here: this page finishes a Genesys sign-in."); return; }
    if (window.opener && window.opener !== window) {
      window.opener.postMessage({ type: MESSAGE, state: params.state, params: params }, base);
      window.close();
      return;
    }
    var pending = null;
    try { pending = JSON.parse(sessionStorage.getItem(PENDING) || "null"); } catch (e) { pending = null; }
    sessionStorage.removeItem(PENDING);
    if (!pending || pending.state !== params.state) { say("This sign-in was not started in this tab."); return; }
    loadConfig().then(function (config) {
      return finish(config, params, pending.verifier);
    }).then(function (token) {
      sessionStorage.setItem(KEPT, JSON.stringify(token));
      location.replace(pending.back);
    }, function (error) { say(error.message); });
  }

  commandlangSignIn.page = page;
  window.commandlangSignIn = commandlangSignIn;
  if (location.origin === base && location.pathname === "/panel/signin.html") handleCallback();
})();
