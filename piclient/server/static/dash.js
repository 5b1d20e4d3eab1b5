// The dashboard's only script: refreshes what changes, sends remote keys and commands.
// Bounded and quiet: one request at a time per timer, slower when the tab is hidden.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const body = document.body;

  async function call(method, url, data) {
    const options = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (data !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(data);
    }
    const response = await fetch(url, options);
    if (response.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
      throw new Error("logged out");
    }
    const reply = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(reply.error || response.statusText);
    return reply;
  }

  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }

  function setWarnings(list, warnings) {
    if (!list) return;
    list.replaceChildren(...warnings.map((w) => {
      const li = document.createElement("li");
      li.className = w.level;
      li.textContent = w.text;
      return li;
    }));
  }

  function every(ms, hiddenMs, fn) {
    let busy = false;
    async function tick() {
      if (!busy) {
        busy = true;
        try { await fn(); } catch (e) { /* the next tick tries again */ }
        busy = false;
      }
      setTimeout(tick, document.hidden ? hiddenMs : ms);
    }
    setTimeout(tick, ms);
  }

  function devicesPage() {
    every(10000, 60000, async () => {
      const reply = await call("GET", "/api/dash/devices");
      for (const d of reply.devices) {
        const card = document.querySelector(`[data-device="${d.id}"]`);
        if (!card) continue;
        card.className = `device card status-${d.status}`;
        const badge = card.querySelector('[data-field="status_label"]');
        badge.className = `badge ${d.status}`;
        setText(badge, d.status_label);
        setText(card.querySelector('[data-field="status_text"]'), d.status_text);
        setText(card.querySelector('[data-field="now_playing"]'), d.now_playing);
        setWarnings(card.querySelector('[data-field="warnings"]'), d.warnings);
        let img = card.querySelector("img.thumb");
        const empty = card.querySelector(".thumb.empty");
        if (!img && empty && d.screenshot) {
          // The first screenshot arrived after the page loaded: put a picture where the note was.
          img = document.createElement("img");
          img.className = "thumb";
          img.alt = d.name || "";
          empty.replaceWith(img);
        }
        if (img && d.screenshot && img.getAttribute("src") !== d.screenshot.url) img.src = d.screenshot.url;
      }
    });
  }

  function devicePage() {
    const id = body.dataset.device;
    const status = document.getElementById("send-status");
    const shot = document.getElementById("screenshot");

    async function send(type, args) {
      try {
        await call("POST", `/api/dash/devices/${id}/commands`, { type, args: args || {} });
        setText(status, `${body.dataset.sent}: ${type}${args && args.name ? " " + args.name : ""}`);
        refresh();
      } catch (e) {
        setText(status, body.dataset.sendFailed + e.message);
      }
    }

    async function refresh() {
      const reply = await call("GET", `/api/dash/devices/${id}`);
      const d = reply.device;
      const label = document.getElementById("status-label");
      label.className = `badge ${d.status}`;
      setText(label, d.status_label);
      setText(document.getElementById("status-text"), d.status_text);
      setText(document.getElementById("now-playing"), d.now_playing);
      setText(document.getElementById("tv-screen"), d.screen || "–");
      setWarnings(document.getElementById("warnings"), d.warnings);
      if (d.screenshot) {
        setText(document.getElementById("shot-taken"), d.screenshot.taken);
        if (shot.dataset.shotId !== String(d.screenshot.id)) {
          shot.src = d.screenshot.url;
          shot.dataset.shotId = String(d.screenshot.id);
          shot.hidden = false;
          const empty = document.getElementById("no-screenshot");
          if (empty) empty.remove();
        }
      }
      const rows = reply.commands.map((c) => {
        const tr = document.createElement("tr");
        tr.className = `cmd-${c.status}`;
        tr.dataset.commandId = c.id;
        for (const [text, cls] of [[c.what, ""], [c.status_text, ""], [c.when, "muted"], [c.detail, "muted detail"]]) {
          const td = document.createElement("td");
          td.textContent = text;
          if (cls) td.className = cls;
          tr.appendChild(td);
        }
        return tr;
      });
      if (rows.length) document.getElementById("commands").replaceChildren(...rows);
    }

    const live = () => call("POST", `/api/dash/devices/${id}/live`).catch(() => {});
    live();
    every(30000, 30000, live);
    every(2000, 15000, refresh);

    document.querySelectorAll("[data-key]").forEach((button) => {
      button.addEventListener("click", () => send("key", { name: button.dataset.key }));
    });
    document.querySelectorAll("[data-command]").forEach((button) => {
      button.addEventListener("click", () => {
        const ask = button.dataset.confirm;
        if (ask === "reboot" && !window.confirm(body.dataset.confirmReboot)) return;
        if (ask === "restart" && !window.confirm(body.dataset.confirmRestart)) return;
        const type = button.dataset.command;
        send(type, type === "upload_logs" ? { since_s: 3600 } : {});
      });
    });
    document.getElementById("message-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("message-text");
      const text = input.value.trim();
      if (!text) return;
      send("message", { text, seconds: 30 }).then(() => { input.value = ""; });
    });
    // The keyboard works as the remote too, except while typing a message.
    const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Enter: "ok",
      Backspace: "back", Escape: "back", " ": "playpause" };
    document.addEventListener("keydown", (event) => {
      if (event.target.closest("input, textarea, button") || event.metaKey || event.ctrlKey || event.altKey) return;
      const name = keys[event.key];
      if (!name) return;
      event.preventDefault();
      send("key", { name });
    });
  }

  if (body.dataset.page === "devices") devicesPage();
  if (body.dataset.page === "device") devicePage();
})();
