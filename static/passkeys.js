// Passkeys (account::passkeys): the sign-in page's "Sign in with a passkey" and "Use a
// passkey", and the account console's "Add a passkey". Asks the browser's WebAuthn API
// (navigator.credentials.create/get) with the options the server sends, and sends its answer
// back. The JSON carries binary fields as base64url (what webauthn-rs speaks); the API wants
// ArrayBuffers. Inlined in those pages only and allowed by its hash in their CSP, with fetch to
// the same origin. Without JavaScript, or in a browser without WebAuthn, the passkey controls
// stay hidden and the rest of the page works as before.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) return;
  var root = document.querySelector("[data-passkeys]");
  if (!root) return;
  var csrf = root.getAttribute("data-csrf");
  var status = document.querySelector("[data-passkey-status]");

  function bytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out.buffer;
  }

  function text(buffer) {
    if (!buffer) return null;
    var view = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < view.length; i++) binary += String.fromCharCode(view[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function say(message) {
    if (!status) return;
    status.textContent = message;
    status.hidden = !message;
  }

  function message(name) {
    return root.getAttribute("data-msg-" + name) || root.getAttribute("data-msg-failed");
  }

  function post(url, body) {
    body.csrf = csrf;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (json) { return json; }, function () { return {}; })
        .then(function (json) {
          if (!response.ok) throw { server: json.message || message("failed") };
          return json;
        });
    });
  }

  // The browser's answer says why it stopped by its name only: "NotAllowedError" is the person
  // cancelling, the time running out, or no passkey of theirs being offered.
  function failed(clock) {
    return function (error) {
      if (error && error.server) return say(error.server);
      var name = error && error.name;
      if (name === "NotAllowedError") {
        return say(message(Date.now() - clock.started >= clock.timeout ? "timeout" : "cancelled"));
      }
      if (name === "InvalidStateError") return say(message("exists"));
      say(message("failed"));
    };
  }

  function creationOptions(options) {
    var o = options.publicKey;
    o.challenge = bytes(o.challenge);
    o.user.id = bytes(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return { publicKey: o };
  }

  function requestOptions(options) {
    var o = options.publicKey;
    o.challenge = bytes(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return { publicKey: o };
  }

  function registration(credential) {
    var r = credential.response;
    return {
      id: credential.id, rawId: text(credential.rawId), type: credential.type,
      response: { attestationObject: text(r.attestationObject), clientDataJSON: text(r.clientDataJSON) },
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  function assertion(credential) {
    var r = credential.response;
    return {
      id: credential.id, rawId: text(credential.rawId), type: credential.type,
      response: {
        authenticatorData: text(r.authenticatorData), clientDataJSON: text(r.clientDataJSON),
        signature: text(r.signature), userHandle: text(r.userHandle)
      },
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  // When the ceremony started and how long the browser waits (the options' timeout).
  function stopwatch() {
    return { started: Date.now(), timeout: 300000 };
  }

  function signIn(start, body) {
    var clock = stopwatch();
    say("");
    post(start, body)
      .then(function (options) {
        clock.timeout = options.publicKey.timeout || clock.timeout;
        return navigator.credentials.get(requestOptions(options));
      })
      .then(function (credential) {
        return post(root.getAttribute("data-finish"), { credential: assertion(credential) });
      })
      .then(function (done) { window.location.assign(done.redirect); }, failed(clock));
  }

  function add(form) {
    var clock = stopwatch();
    var name = form.querySelector("input[name=name]");
    say("");
    post(form.getAttribute("data-start"), { name: name ? name.value : "" })
      .then(function (options) {
        clock.timeout = options.publicKey.timeout || clock.timeout;
        return navigator.credentials.create(creationOptions(options));
      })
      .then(function (credential) {
        return post(form.getAttribute("data-finish"), { credential: registration(credential) });
      })
      .then(function (done) { window.location.assign(done.redirect); }, failed(clock));
  }

  document.querySelectorAll("[data-passkey-control]").forEach(function (element) {
    element.hidden = false;
  });
  var anyone = document.querySelector("[data-passkey-anyone]");
  if (anyone) {
    anyone.addEventListener("click", function () { signIn(root.getAttribute("data-start"), {}); });
  }
  var typed = document.querySelector("[data-passkey-typed]");
  if (typed) {
    typed.addEventListener("click", function () {
      var field = document.getElementById("identifier");
      signIn(root.getAttribute("data-start"), { identifier: field ? field.value : "" });
    });
  }
  var form = document.querySelector("form[data-passkey-add]");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      add(form);
    });
  }
})();
