// The bot check (account::botcheck): solves the ALTCHA proof-of-work challenge that a
// code-request form carries in data-challenge, with WebCrypto's SHA-256, and puts the solution
// in the form's hidden `altcha` field. Inlined in those pages only and allowed by its hash in
// their CSP. Without it (no JavaScript, no WebCrypto outside a secure context) the form still
// works: the server answers with a short wait instead.
"use strict";
(function () {
  var subtle = window.crypto && window.crypto.subtle;
  if (!subtle || !window.TextEncoder || !window.btoa) return;
  var encoder = new TextEncoder();

  function bytesOf(hex) {
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function same(buffer, target) {
    var bytes = new Uint8Array(buffer);
    if (bytes.length !== target.length) return false;
    for (var i = 0; i < bytes.length; i++) if (bytes[i] !== target[i]) return false;
    return true;
  }

  // The secret number n is in 0..=maxnumber; the challenge is SHA-256(salt + n) in hex.
  async function solve(c) {
    var started = Date.now();
    var target = bytesOf(c.challenge);
    for (var n = 0; n <= c.maxnumber; n++) {
      if (same(await subtle.digest("SHA-256", encoder.encode(c.salt + n)), target)) {
        return btoa(JSON.stringify({
          algorithm: c.algorithm, challenge: c.challenge, number: n,
          salt: c.salt, signature: c.signature, took: Date.now() - started
        }));
      }
      // Yield now and then, so typing and taps stay smooth while it works.
      if (n % 2000 === 1999) await new Promise(function (done) { setTimeout(done, 0); });
    }
    return "";
  }

  document.querySelectorAll("form[data-challenge]").forEach(function (form) {
    var field = form.querySelector("input[name=altcha]");
    var status = form.querySelector("[data-bot-check-status]");
    var button = form.querySelector("button[type=submit]");
    if (!field) return;
    var solved = solve(JSON.parse(form.getAttribute("data-challenge")))
      .then(function (solution) { field.value = solution; }, function () {});
    var sending = false;
    form.addEventListener("submit", function (event) {
      if (field.value) return;
      // Pressed before the work is done: finish it, then send (form.submit() fires no
      // second submit event).
      event.preventDefault();
      if (sending) return;
      sending = true;
      if (status) status.hidden = false;
      if (button) button.disabled = true;
      solved.then(function () { form.submit(); });
    });
  });
})();
