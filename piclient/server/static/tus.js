// A small tus 1.0 client (creation + core) on the dashboard's session, shared by the library page
// (films, subtitles) and the updates page (bundles). A file's upload URL is kept in localStorage
// under its name, size and date, so choosing the same file again after a dropped link or a closed
// laptop resumes from the server's last byte (HEAD) instead of starting over.
"use strict";
window.piclientTus = (function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const CHUNK = 8 * 1024 * 1024;
  const RETRY_MS = 3000;
  const headers = (extra) => Object.assign({"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}, extra || {});
  const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(String(text))));
  const key = (file) => "piclient-upload:" + [file.name, file.size, file.lastModified].join(":");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function create(file, meta) {
    const pairs = Object.entries(Object.assign({filename: file.name}, meta))
      .filter(([, v]) => v !== "" && v != null).map(([k, v]) => k + " " + b64(v));
    const reply = await fetch("/api/v1/uploads/", {method: "POST", credentials: "same-origin",
      headers: headers({"Upload-Length": String(file.size), "Upload-Metadata": pairs.join(",")})});
    if (reply.status !== 201) throw new Error((await reply.json()).error || reply.statusText);
    return reply.headers.get("Location");
  }

  async function offsetOf(url) {
    const reply = await fetch(url, {method: "HEAD", credentials: "same-origin", headers: headers()});
    return reply.ok ? Number(reply.headers.get("Upload-Offset")) : null;
  }

  async function send(file, url, onProgress) {
    let offset = await offsetOf(url);
    while (offset < file.size) {
      try {
        const reply = await fetch(url, {method: "PATCH", credentials: "same-origin", body: file.slice(offset, offset + CHUNK),
          headers: headers({"Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream"})});
        if (reply.status === 409 || reply.status >= 500) { offset = await offsetOf(url); continue; }
        if (!reply.ok) throw new Error((await reply.json()).error || reply.statusText);
        offset = Number(reply.headers.get("Upload-Offset"));
        onProgress(offset / file.size);
      } catch (error) {
        if (error instanceof TypeError) {  // the link dropped: ask what arrived, then go on from there
          await sleep(RETRY_MS);
          offset = (await offsetOf(url).catch(() => null)) ?? offset;
          continue;
        }
        throw error;
      }
    }
  }

  // Creates the upload (or finds the one this file started before); `send()` carries the bytes.
  async function upload(file, meta, onProgress) {
    let url = localStorage.getItem(key(file));
    if (url && (await offsetOf(url)) === null) url = null;  // the server no longer has it
    if (!url) {
      url = await create(file, meta);
      localStorage.setItem(key(file), url);
    }
    return {url, send: () => send(file, url, onProgress).then(() => localStorage.removeItem(key(file)))};
  }

  return {upload, csrf};
})();
