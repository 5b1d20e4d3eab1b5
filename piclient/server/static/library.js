// The library page's uploader, on tus.js: subtitles go first and name the film's upload; choosing
// the same film again after a dropped link resumes it.
"use strict";
(function () {
  const csrf = window.piclientTus.csrf;
  const upload = window.piclientTus.upload;
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
