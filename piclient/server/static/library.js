// The library page's uploader: a small tus 1.0 client (creation + core) on the dashboard's session.
// Subtitles go first and name the film's upload; the film's upload URL is kept in localStorage under
// the file's name, size and date, so choosing the same file again after a dropped link or a closed
// laptop resumes from the server's last byte (HEAD) instead of starting over.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  // A new poster: the picture itself is the body; the page reloads to show it.
  for (const input of document.querySelectorAll(".poster-input")) {
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      const reply = await fetch("/titles/" + encodeURIComponent(input.dataset.title) + "/poster", {
        method: "POST", credentials: "same-origin", body: file,
        headers: {"X-CSRF-Token": csrf, "Content-Type": file.type || "application/octet-stream"}});
      if (reply.ok) location.reload();
      else alert((await reply.json()).error || reply.statusText);
    });
  }
  let uploading = false;

  // Jobs and uploads: the server pushes the list whenever it changes (a stage, a percent, an upload's
  // bytes); polling is only the fallback while the stream is down. A job that finished brings a new
  // title, so the page reloads to show it, unless the maintainer is busy on it (uploading, typing,
  // an edit form open).
  const live = document.getElementById("jobs-live");
  if (live) {
    const finished = new Set([...live.querySelectorAll('[data-job][data-state="done"]')].map((li) => li.dataset.job));
    let shown = null;
    let streaming = false;
    const busy = () => uploading || document.activeElement?.closest("form") || document.querySelector("#titles details[open]");
    const show = (data) => {
      if (data.html !== shown) { live.innerHTML = data.html; shown = data.html; }
      const fresh = data.done.map(String).filter((id) => !finished.has(id));
      fresh.forEach((id) => finished.add(id));
      if (fresh.length && !busy()) location.reload();
    };
    if (window.EventSource) {
      const events = new EventSource("/api/dash/library/events");
      events.addEventListener("open", () => { streaming = true; });
      events.addEventListener("error", () => { streaming = false; });
      events.addEventListener("jobs", (event) => { streaming = true; show(JSON.parse(event.data)); });
    }
    const poll = async () => {
      if (!streaming) {
        try {
          const reply = await fetch("/api/dash/library/jobs", {credentials: "same-origin"});
          if (reply.ok) show(await reply.json());
        } catch (error) { /* the next round tries again */ }
      }
      setTimeout(poll, document.hidden ? 30000 : 5000);
    };
    setTimeout(poll, 5000);
  }

  const form = document.getElementById("upload-form");
  if (!form) return;
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("upload-progress");
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

  async function upload(file, meta, onProgress) {
    let url = localStorage.getItem(key(file));
    if (url && (await offsetOf(url)) === null) url = null;  // the server no longer has it
    if (!url) {
      url = await create(file, meta);
      localStorage.setItem(key(file), url);
    }
    return {url, send: () => send(file, url, onProgress).then(() => localStorage.removeItem(key(file)))};
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const film = data.get("film");
    if (!(film instanceof File) || !film.size) return;
    const meta = {};
    for (const name of ["title_ko", "title_en", "year", "series", "season", "episode", "subtitle_offset"]) {
      meta[name] = data.get(name) || "";
    }
    form.querySelector("button").disabled = true;
    uploading = true;
    try {
      const movie = await upload(film, meta, (f) => { bar.value = Math.round(f * 100); });
      const filmId = movie.url.split("/").pop();
      for (const sub of data.getAll("subs")) {
        if (sub instanceof File && sub.size) await (await upload(sub, {film: filmId}, () => {})).send();
      }
      status.textContent = form.dataset.sending;
      await movie.send();
      status.textContent = form.dataset.done;  // the jobs list above now follows its packaging
      form.reset();
      bar.value = 0;
    } catch (error) {
      status.textContent = String(error.message || error);
    }
    form.querySelector("button").disabled = false;
    uploading = false;
  });
})();
