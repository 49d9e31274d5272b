// Passkeys on the reviewer page: register one, or confirm a step-up approval with one.
// The only script under /ui; pages that load it allow script-src 'self' and nothing else.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf"]');
  var csrf = meta ? meta.content : "";

  function say(text) {
    var el = document.getElementById("passkey-status");
    if (el) { el.textContent = text; }
  }

  async function post(url, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) { throw new Error(data.detail || ("HTTP " + response.status)); }
    return data;
  }

  var register = document.getElementById("register-passkey");
  if (register) {
    register.addEventListener("click", async function () {
      try {
        say("Follow your browser's prompt…");
        var options = await post("/ui/passkeys/options");
        var credential = await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)
        });
        var name = document.getElementById("passkey-name").value;
        await post("/ui/passkeys", { credential: credential.toJSON(), name: name });
        location.assign("/ui/passkeys?notice=" + encodeURIComponent("Passkey registered."));
      } catch (error) {
        say("Not registered: " + error.message);
      }
    });
  }

  var approve = document.getElementById("approve-passkey");
  if (approve) {
    approve.addEventListener("click", async function () {
      var base = approve.getAttribute("data-action");
      try {
        say("Confirm with your passkey…");
        var options = await post(base + "/passkey/options");
        var credential = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)
        });
        var done = await post(base + "/passkey", { credential: credential.toJSON() });
        location.assign(base + "?notice=" + encodeURIComponent(done.notice));
      } catch (error) {
        say("Not recorded: " + error.message);
      }
    });
  }
})();
