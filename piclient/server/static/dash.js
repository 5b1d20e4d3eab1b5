// The dashboard's only script: shows what changes, sends remote keys and commands.
// The device list and a box's page follow streams the server pushes; each polls (one request at a
// time, slower when the tab is hidden) only while its stream is down.
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
  // For HTML the server rendered from its own template (escaped there): swapped only when it changed.
  function setHtml(el, html) {
    if (el && html !== undefined && el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A plain sentence, and the raw words behind it one tap away.
  function withDetail(parent, text, detail) {
    if (!detail) {
      parent.append(text);
      return;
    }
    const details = el("details");
    const summary = el("summary");
    summary.append(text);  // a string or a node (box text comes wrapped in <bdi>)
    details.append(summary, el("pre", "raw", detail));
    parent.append(details);
  }

  function setWarnings(list, warnings, withDetails) {
    if (!list) return;
    list.replaceChildren(...warnings.map((w) => {
      const li = el("li", w.level);
      // Box text sits in <bdi>: a right-to-left or mirrored title cannot reorder the words around it.
      if (withDetails) withDetail(li, el("bdi", "", w.text), w.detail);
      else li.append(el("bdi", "", w.text));
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

  // Follows a stream the server pushes; `fallback` polls only while the stream is down.
  function follow(url, name, apply, fallback, ms, hiddenMs) {
    let streaming = false;
    if (window.EventSource) {
      const events = new EventSource(url);
      events.addEventListener("open", () => { streaming = true; });
      events.addEventListener("error", () => { streaming = false; });
      events.addEventListener(name, (event) => {
        streaming = true;
        apply(JSON.parse(event.data));
      });
    }
    every(ms, hiddenMs, async () => { if (!streaming) await fallback(); });
    return () => streaming;
  }

  function devicesPage() {
    function show(reply) {
      for (const d of reply.devices) {
        const card = document.querySelector(`[data-device="${d.id}"]`);
        if (!card) continue;
        card.className = `device card status-${d.status}`;
        const badge = card.querySelector('[data-field="status_label"]');
        badge.className = `badge ${d.status}`;
        setText(badge, d.status_label);
        setText(card.querySelector('[data-field="status_text"]'), d.status_text);
        setHtml(card.querySelector('[data-field="now_playing"]'), d.now_playing_html);
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
    }
    follow("/api/dash/devices/events", "devices", show, async () => show(await call("GET", "/api/dash/devices")),
      10000, 60000);
  }

  function devicePage() {
    const id = body.dataset.device;
    const status = document.getElementById("send-status");
    const shot = document.getElementById("screenshot");

    async function send(type, args, label) {
      try {
        await call("POST", `/api/dash/devices/${id}/commands`, { type, args: args || {} });
        setText(status, `${body.dataset.sent}: ${label}`);
        if (!streaming()) refresh();
      } catch (e) {
        setText(status, body.dataset.sendFailed + e.message);
      }
    }

    function commandRow(c) {
      const li = el("li", `cmd-${c.status}`);
      li.dataset.commandId = c.id;
      li.append(el("bdi", "what", c.what), " ", el("span", "state", c.status_text), " ", el("span", "muted", c.when));
      if (c.outcome) li.append(el("div", "outcome", c.outcome));
      if (c.detail) {
        const details = el("details");
        details.append(el("summary", "", body.dataset.details), el("pre", "raw", c.detail));
        li.append(details);
      }
      return li;
    }

    function show(reply) {
      const d = reply.device;
      const label = document.getElementById("status-label");
      label.className = `badge ${d.status}`;
      setText(label, d.status_label);
      setText(document.getElementById("status-text"), d.status_text);
      setHtml(document.getElementById("now-playing"), d.now_playing_html);
      setText(document.getElementById("tv-screen"), d.screen || "–");
      setText(document.getElementById("tv-uptime"), d.tv_uptime || "–");
      const warnings = document.getElementById("warnings");
      // An open <details> stays open: only redraw when the warnings changed.
      const key = JSON.stringify(d.warnings);
      if (warnings.dataset.key !== key) {
        warnings.dataset.key = key;
        setWarnings(warnings, d.warnings, true);
      }
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
      const list = document.getElementById("commands");
      const commandsKey = JSON.stringify(reply.commands);
      if (reply.commands.length && list.dataset.key !== commandsKey) {
        list.dataset.key = commandsKey;
        list.replaceChildren(...reply.commands.map(commandRow));
      }
    }

    async function refresh() {
      show(await call("GET", `/api/dash/devices/${id}`));
    }

    // The server pushes every change (a new picture, a heartbeat, a command's result) and keeps the
    // box in live mode while the stream is open. Polling is only the fallback while the stream is down.
    const streaming = follow(`/api/dash/devices/${id}/events`, "device", show, refresh, 2000, 15000);
    const live = () => call("POST", `/api/dash/devices/${id}/live`).catch(() => {});
    every(30000, 30000, async () => { if (!streaming()) await live(); });

    const buttonLabel = (button) => button.getAttribute("aria-label") || button.textContent.trim();
    document.querySelectorAll("[data-key]").forEach((button) => {
      button.addEventListener("click", () => send("key", { name: button.dataset.key }, buttonLabel(button)));
    });
    document.querySelectorAll("[data-command]").forEach((button) => {
      button.addEventListener("click", () => {
        const ask = button.dataset.confirm;
        if (ask === "reboot" && !window.confirm(body.dataset.confirmReboot)) return;
        if (ask === "restart" && !window.confirm(body.dataset.confirmRestart)) return;
        const type = button.dataset.command;
        send(type, type === "upload_logs" ? { since_s: 3600 } : {}, buttonLabel(button));
      });
    });
    document.getElementById("message-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("message-text");
      const text = input.value.trim();
      if (!text) return;
      send("message", { text, seconds: 30 }, `“${text.slice(0, 40)}”`).then(() => { input.value = ""; });
    });
    // The keyboard works as the remote too, except while typing a message.
    const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Enter: "ok",
      Backspace: "back", Escape: "back", " ": "playpause" };
    document.addEventListener("keydown", (event) => {
      if (event.target.closest("input, textarea, button, summary") || event.metaKey || event.ctrlKey || event.altKey) return;
      const name = keys[event.key];
      if (!name) return;
      event.preventDefault();
      const button = document.querySelector(`[data-key="${name}"]`);
      send("key", { name }, button ? buttonLabel(button) : name);
    });
  }

  if (body.dataset.page === "devices") devicesPage();
  if (body.dataset.page === "device") devicePage();
})();
