// The updates page's bundle upload, on tus.js (resumable: the same file chosen again goes on from the
// server's last byte). When the last byte is there the server checks and publishes it, as
// `piclient server publish-bundle` does, and the page reloads with the new version and its offer buttons.
"use strict";
(function () {
  const form = document.getElementById("bundle-form");
  if (!form) return;
  const status = document.getElementById("bundle-status");
  const bar = document.getElementById("bundle-progress");
  const button = document.getElementById("bundle-button");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = document.getElementById("bundle-file").files[0];
    if (!file || !file.size) return;
    button.disabled = true;
    status.classList.remove("warn", "bad");
    status.textContent = form.dataset.sending;
    try {
      const upload = await window.piclientTus.upload(file, {kind: "bundle"}, (f) => { bar.value = Math.round(f * 100); });
      await upload.send();
      status.textContent = form.dataset.checking;
      const reply = await fetch("/api/dash/updates/publish", {method: "POST", credentials: "same-origin",
        headers: {"X-CSRF-Token": window.piclientTus.csrf, "Content-Type": "application/json"},
        body: JSON.stringify({upload: upload.url.split("/").pop()})});
      const answer = await reply.json();
      if (!reply.ok) throw new Error(answer.error || reply.statusText);
      location.assign("/updates?note=" + encodeURIComponent(answer.note) + "#bundle-" + encodeURIComponent(answer.version));
      return;
    } catch (error) {
      status.classList.add("warn", "bad");
      status.textContent = String(error.message || error);
      bar.value = 0;
    }
    button.disabled = false;
  });
})();
