// The syncd dashboard: polls /api/state while the page is visible and renders it; each
// button posts one action. Names from the disk or the cloud only ever become text nodes.
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="syncd-csrf"]').content;
  const POLL_MS = 1000;

  const STATES = {
    idle: "Up to date",
    syncing: "Syncing",
    paused: "Paused",
    offline: "Offline",
    error: "Error",
    "needs-you": "Needs you",
    starting: "Starting",
  };
  const DONE = {
    upload: "uploaded",
    download: "downloaded",
    "mkdir-local": "folder created here",
    "mkdir-cloud": "folder created in the cloud",
    "trash-local": "deleted here (kept in the trash)",
    "delete-cloud": "deleted in the cloud",
    "move-local": "moved here",
    "move-cloud": "moved in the cloud",
    conflict: "conflict: both versions kept",
    equal: "the same on both sides (recorded)",
  };
  const FAILED = {
    upload: "upload failed",
    download: "download failed",
    "mkdir-local": "creating the folder here failed",
    "mkdir-cloud": "creating the folder in the cloud failed",
    "trash-local": "deleting here failed",
    "delete-cloud": "deleting in the cloud failed",
    "move-local": "moving here failed",
    "move-cloud": "moving in the cloud failed",
    conflict: "keeping both versions failed",
  };

  // --- building DOM --------------------------------------------------------------------

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "data") Object.assign(el.dataset, value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const rendered = new WeakMap();

  // Rebuild `container` only when its data changed, and give the focus back to the element
  // with the same data-key, so a keyboard user does not lose their place every second.
  function update(container, data, build) {
    const key = JSON.stringify(data);
    if (rendered.get(container) === key) return;
    rendered.set(container, key);
    const focused = document.activeElement;
    const focusKey = focused && container.contains(focused) ? focused.dataset.key : null;
    container.replaceChildren(...build(data));
    if (focusKey) {
      const again = [...container.querySelectorAll("[data-key]")].find(
        (el) => el.dataset.key === focusKey,
      );
      if (again) again.focus();
    }
  }

  // --- formatting ----------------------------------------------------------------------

  function bytes(size) {
    if (size === null || size === undefined) return "unknown";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = size;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
  }

  const rate = (perSecond) => `${bytes(Math.round(perSecond || 0))}/s`;
  const limit = (value) => (value ? rate(value) : "unlimited");

  function clock(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
  }

  function when(epoch) {
    return new Date(epoch * 1000).toLocaleString([], { hour12: false });
  }

  function ago(epoch) {
    if (!epoch) return "never";
    const seconds = Math.max(0, Date.now() / 1000 - epoch);
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return when(epoch);
  }

  function retry(epoch) {
    const seconds = epoch - Date.now() / 1000;
    if (seconds <= 0) return "retried at the next pass";
    if (seconds < 90) return `retry in ${Math.round(seconds)} s`;
    return `retry at ${clock(epoch)}`;
  }

  // --- talking to the daemon -----------------------------------------------------------

  let timer = null;
  let locked = false;

  let noticeTimer = null;

  // What the last action did; it fades after a while, its text stays readable till then.
  function notice(text, bad) {
    const el = document.getElementById("notice");
    el.textContent = text;
    el.classList.toggle("bad", Boolean(bad));
    el.hidden = !text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      el.hidden = true;
    }, 20000);
  }

  function connection(text) {
    const el = document.getElementById("connection");
    el.textContent = text || "";
    el.hidden = !text;
  }

  async function refresh() {
    clearTimeout(timer);
    if (locked) return;
    try {
      const response = await fetch("/api/state", { cache: "no-store" });
      if (response.status === 401) {
        locked = true;
        connection(
          "The access token changed or is missing: run `syncd web` to open the page again.",
        );
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      render(await response.json());
      connection("");
    } catch (error) {
      connection(`Cannot reach the syncd daemon (${error.message}); retrying.`);
    }
    if (!document.hidden) timer = setTimeout(refresh, POLL_MS);
  }

  let busy = false;

  async function act(name, body) {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(`/api/${name}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Syncd-Csrf": csrf },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) notice(answer.message || "done", false);
      else notice(answer.error || `refused (HTTP ${response.status})`, true);
      return response.ok;
    } catch (error) {
      notice(`Cannot reach the syncd daemon: ${error.message}`, true);
      return false;
    } finally {
      busy = false;
      refresh();
    }
  }

  // --- rendering -----------------------------------------------------------------------

  function badge(state) {
    return h("span", { class: `badge state-${state}` }, STATES[state] || state);
  }

  function render(state) {
    const overall = document.getElementById("overall");
    overall.className = `badge state-${state.state}`;
    overall.textContent = STATES[state.state] || state.state;
    document.getElementById("free-space").textContent = bytes(state.free_space);
    const up = state.pairs.reduce((sum, pair) => sum + pair.rate_up, 0);
    const down = state.pairs.reduce((sum, pair) => sum + pair.rate_down, 0);
    document.getElementById("rate-up").textContent = rate(up);
    document.getElementById("rate-down").textContent = rate(down);
    const pauseAll = document.getElementById("pause-all");
    pauseAll.dataset.act = state.all_paused ? "resume" : "pause";
    pauseAll.textContent = state.all_paused ? "Resume all" : "Pause all";
    document.getElementById("version").textContent = state.version;
    document.getElementById("updated").textContent = state.updated
      ? `status of ${clock(state.updated)}`
      : "waiting for the daemon";
    const limits = state.limits || {};
    document.getElementById("limits-now").textContent =
      `In force: upload ${limit(limits.upload_limit)}, download ${limit(limits.download_limit)}`;
    const pairs = document.getElementById("pairs");
    for (const pair of state.pairs) renderPair(pairs, pair);
    update(document.getElementById("recent"), state.recent, recentItems);
  }

  const cards = new Map();

  function renderPair(container, pair) {
    let card = cards.get(pair.name);
    if (!card) {
      card = pairCard(pair);
      cards.set(pair.name, card);
      container.append(card.root);
    }
    update(card.head, [pair.state, pair.message, pair.paused], () => [
      badge(pair.state),
      pair.message ? h("p", { class: "message" }, pair.message) : "",
    ]);
    card.pause.dataset.act = pair.paused ? "resume" : "pause";
    card.pause.textContent = pair.paused ? "Resume" : "Pause";
    card.pause.setAttribute("aria-label", `${pair.paused ? "Resume" : "Pause"} ${pair.name}`);
    update(card.stats, statsOf(pair), (s) => [
      h("div", {}, h("dt", {}, "Last sync"), h("dd", { title: s.lastTitle }, s.last)),
      h("div", {}, h("dt", {}, "Waiting"), h("dd", {}, `${s.up} up, ${s.down} down`)),
      h("div", {}, h("dt", {}, "Rate"), h("dd", {}, `↑ ${s.rateUp} ↓ ${s.rateDown}`)),
    ]);
    section(card.transfers, pair.transfers, "Transferring", transferItems);
    section(card.queue, { items: pair.queue, total: pair.queued }, "Queued", queueItems);
    section(card.conflicts, { pair: pair.name, items: pair.conflicts }, "Conflicts", conflictItems);
    section(card.errors, pair.errors, "Failed items", errorItems);
    if (pair.problem) card.problem.textContent = pair.problem;
    card.problem.hidden = !pair.problem;
    card.excludedCount.textContent = `(${pair.excluded.length})`;
    update(card.excluded, { pair: pair.name, items: pair.excluded }, excludedItems);
    card.trashCount.textContent = `(${pair.trash_count})`;
    update(card.trash, { pair: pair.name, items: pair.trash, total: pair.trash_count }, trashItems);
  }

  function statsOf(pair) {
    return {
      last: ago(pair.last_sync),
      lastTitle: pair.last_sync ? when(pair.last_sync) : null,
      up: pair.pending_uploads,
      down: pair.pending_downloads,
      rateUp: rate(pair.rate_up),
      rateDown: rate(pair.rate_down),
    };
  }

  // A titled list that is hidden while empty.
  function section(el, data, title, build) {
    const items = Array.isArray(data) ? data : data.items;
    el.hidden = items.length === 0;
    update(el, data, (d) => {
      const count = Array.isArray(d) ? d.length : d.total ?? d.items.length;
      return [h("h3", {}, `${title} (${count})`), h("ul", { class: "list" }, build(d))];
    });
  }

  function pairCard(pair) {
    const titleId = `pair-${cards.size}`;
    const head = h("div", { class: "state" });
    const pause = h("button", { type: "button", data: { act: "pause", pair: pair.name } }, "Pause");
    const rescan = h(
      "button",
      { type: "button", data: { act: "rescan", pair: pair.name }, "aria-label": `Rescan ${pair.name}` },
      "Rescan",
    );
    const stats = h("dl", { class: "stats" });
    const problem = h("p", { class: "notice bad", hidden: true });
    const transfers = h("section", { class: "transfers", hidden: true });
    const queue = h("section", { class: "queue", hidden: true });
    const conflicts = h("section", { class: "conflicts", hidden: true });
    const errors = h("section", { class: "errors", hidden: true });
    const excludedCount = h("span", {}, "(0)");
    const excluded = h("ul", { class: "list" });
    const excludeInput = h("input", {
      name: "path",
      autocomplete: "off",
      placeholder: "folder/in/the/cloud",
      "aria-label": `Cloud folder of ${pair.name} to exclude`,
    });
    const excludeForm = h(
      "form",
      { class: "inline", data: { pair: pair.name } },
      excludeInput,
      h("button", { type: "submit" }, "Exclude"),
    );
    excludeForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await act("exclude", { pair: pair.name, path: excludeInput.value })) {
        excludeInput.value = "";
      }
    });
    const trashCount = h("span", {}, "(0)");
    const trash = h("ul", { class: "list" });
    const root = h(
      "article",
      { class: "pair card", "aria-labelledby": titleId },
      h(
        "header",
        { class: "pair-head" },
        h("h2", { id: titleId }, pair.name),
        head,
        h("div", { class: "buttons" }, pause, rescan),
      ),
      h(
        "p",
        { class: "paths muted" },
        h("span", { class: "path" }, pair.local),
        " ⇄ cloud ",
        h("span", { class: "path" }, pair.remote),
      ),
      problem,
      stats,
      transfers,
      queue,
      conflicts,
      errors,
      h(
        "details",
        {},
        h("summary", {}, "Excluded cloud folders ", excludedCount),
        h("p", { class: "muted small" }, "Kept in the cloud, not synced to this computer."),
        excluded,
        excludeForm,
      ),
      h(
        "details",
        {},
        h("summary", {}, "Local trash ", trashCount),
        h("p", { class: "muted small" }, "What syncing deleted or replaced on this computer."),
        trash,
      ),
    );
    return {
      root, head, pause, stats, problem, transfers, queue, conflicts, errors,
      excluded, excludedCount, trash, trashCount,
    };
  }

  function transferItems(transfers) {
    return transfers.map((t) => {
      const percent = t.size ? Math.min(100, Math.round((100 * t.done) / t.size)) : 100;
      return h(
        "li",
        { class: "transfer" },
        h("span", { class: "path" }, `${t.direction === "up" ? "↑" : "↓"} ${t.rel_path}`),
        h("progress", {
          max: t.size || 1,
          value: Math.min(t.done, t.size || 1),
          "aria-label": `${t.rel_path}: ${percent} %`,
        }),
        h("span", { class: "muted small" }, `${bytes(t.done)} of ${bytes(t.size)} · ${rate(t.rate)}`),
      );
    });
  }

  function queueItems(queue) {
    const items = queue.items.map((q) =>
      h("li", {}, h("span", { class: "path" }, q.rel_path), h("span", { class: "muted small" }, ` ${q.action}`)),
    );
    if (queue.total > queue.items.length) {
      items.push(h("li", { class: "muted" }, `and ${queue.total - queue.items.length} more`));
    }
    return items;
  }

  function conflictItems(data) {
    return data.items.map((c) => {
      const name = c.original;
      const button = (keep, label, aria) =>
        h(
          "button",
          {
            type: "button",
            data: { act: "resolve", pair: data.pair, path: c.copy, keep, key: `${c.copy}|${keep}` },
            "aria-label": `${aria} of ${name}`,
          },
          label,
        );
      return h(
        "li",
        { class: "conflict" },
        h("span", { class: "path" }, name),
        h(
          "span",
          { class: "muted small" },
          `${c.copy_holds === "cloud" ? "The cloud's" : "This computer's"} version is in `,
          h("span", { class: "path" }, c.copy),
        ),
        h(
          "span",
          { class: "buttons" },
          button("local", "Keep this computer's", "Keep this computer's version"),
          button("remote", "Keep the cloud's", "Keep the cloud's version"),
          button("both", "Keep both", "Keep both versions"),
        ),
      );
    });
  }

  function errorItems(errors) {
    return errors.map((e) =>
      h(
        "li",
        { class: "error" },
        h("span", { class: "path" }, e.path),
        h("span", {}, `${e.action}: ${e.message}`),
        h("span", { class: "muted small" }, `attempt ${e.attempts}, ${retry(e.retry_at)}`),
      ),
    );
  }

  function excludedItems(data) {
    if (data.items.length === 0) return [h("li", { class: "muted" }, "none")];
    return data.items.map((path) =>
      h(
        "li",
        {},
        h("span", { class: "path" }, path),
        h(
          "button",
          {
            type: "button",
            data: { act: "include", pair: data.pair, path, key: `include|${path}` },
            "aria-label": `Sync ${path} again`,
          },
          "Sync again",
        ),
      ),
    );
  }

  function trashItems(data) {
    if (data.items.length === 0) return [h("li", { class: "muted" }, "empty")];
    const items = data.items.map((item) =>
      h(
        "li",
        {},
        h("span", { class: "path" }, item.path + (item.is_dir ? "/" : "")),
        h("span", { class: "muted small" }, item.trashed_at ? item.trashed_at.replace("T", " ") : ""),
        h(
          "button",
          {
            type: "button",
            data: { act: "restore", pair: data.pair, path: item.path, key: `restore|${item.path}` },
            "aria-label": `Restore ${item.path}`,
          },
          "Restore",
        ),
      ),
    );
    if (data.total > data.items.length) {
      items.push(h("li", { class: "muted" }, `and ${data.total - data.items.length} older`));
    }
    return items;
  }

  function recentItems(recent) {
    if (recent.length === 0) return [h("li", { class: "muted" }, "nothing yet")];
    return recent.map((item) => {
      const what = (item.error ? FAILED : DONE)[item.action] || item.action;
      return h(
        "li",
        { class: item.error ? "error" : "" },
        h("time", { datetime: new Date(item.at * 1000).toISOString(), class: "muted small" }, clock(item.at)),
        h(
          "span",
          { class: "path" },
          item.source ? `${item.source} → ${item.rel_path}` : item.rel_path,
        ),
        h("span", { class: "small" }, `${what} · ${item.pair}`),
        item.error ? h("span", { class: "small" }, item.error) : "",
      );
    });
  }

  // --- input ---------------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    const data = button.dataset;
    const body = {};
    for (const key of ["pair", "path", "keep"]) if (data[key] !== undefined) body[key] = data[key];
    act(data.act, body);
  });

  const limitsForm = document.getElementById("limits");
  limitsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(limitsForm);
    act("limits", { upload: form.get("upload"), download: form.get("download") });
  });
  document.getElementById("limits-reset").addEventListener("click", async () => {
    if (await act("limits", { reset: true })) limitsForm.reset();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  refresh();
})();
