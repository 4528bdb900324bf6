// autocoder dashboard: fills the page's <main> from /api/dashboard/. Text from issues and the
// model is only ever set with textContent; links are kept only when they are http(s) or local.
"use strict";

(() => {
  const main = document.getElementById("main");
  if (!main) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") || "";
  const status = main.querySelector(".status");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function safeHref(url) {
    if (typeof url !== "string" || !url) return null;
    if (url.startsWith("/") && !url.startsWith("//")) return url;
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  function link(url, text, extra) {
    const href = safeHref(url);
    return href ? el("a", { href, text, ...(extra || {}) }) : el("span", { text });
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  async function command(repository, number, name) {
    const url = `/api/dashboard/repos/${repository}/issues/${number}/${name}`;
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `${response.status}`);
    return body;
  }

  const LABELS = { start: "Start", stop: "Stop", retry: "Retry" };

  function commandButton(repository, number, name, after) {
    const button = el("button", {
      type: "button",
      class: `btn btn-${name}`,
      "data-command": name,
      "data-issue": number,
      text: LABELS[name],
      "aria-label": `${LABELS[name]} #${number}`,
    });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const result = await command(repository, number, name);
        say(`${LABELS[name]} #${number}: ${result.detail}`);
      } catch (error) {
        say(`${LABELS[name]} #${number} failed: ${error.message}`);
      } finally {
        button.disabled = false;
        after();
      }
    });
    return button;
  }

  // -- home: installations and repositories -----------------------------------------------

  async function home() {
    const data = await getJSON("/api/dashboard/installations");
    const list = el("div", { class: "installations" });
    for (const inst of data.installations) {
      const name = inst.account ? `${inst.account}` : "Repositories";
      const repos = el("ul", { class: "repos" });
      for (const full of inst.repositories) {
        repos.append(el("li", {}, link(`/repos/${full}`, full)));
      }
      if (!inst.repositories.length) repos.append(el("li", { class: "muted", text: "no repositories" }));
      const caption = inst.id ? ` · installation ${inst.id}` : "";
      list.append(
        el("section", { class: "installation" },
          el("h2", {}, name, el("span", { class: "muted", text: caption + (inst.active ? "" : " · suspended") })),
          repos),
      );
    }
    if (!data.installations.length) {
      list.append(el("p", { class: "muted", text: "No installation yet: install the GitHub App on a repository." }));
    }
    main.append(list);
    say(`${data.installations.length} installation(s)`);
  }

  // -- board --------------------------------------------------------------------------------

  async function board() {
    const repository = main.dataset.repository;
    const summary = el("p", { class: "summary" });
    const meter = el("progress", { max: "1", value: "0", "aria-label": "features passing" });
    const columns = el("div", { class: "board" });
    main.append(el("div", { class: "summary-row" }, summary, meter), columns);
    let last = "";

    async function refresh() {
      let data;
      try {
        data = await getJSON(`/api/dashboard/repos/${repository}/board`);
      } catch (error) {
        say(`could not load the board: ${error.message}`);
        return;
      }
      const text = JSON.stringify(data);
      if (text === last) return;
      last = text;
      const focused = document.activeElement?.dataset?.key;
      summary.textContent = `${data.passing}/${data.total} passing`;
      meter.setAttribute("max", String(Math.max(data.total, 1)));
      meter.setAttribute("value", String(data.passing));
      columns.replaceChildren(
        ...data.columns.map((column) => {
          const cards = el("ol", { class: "cards" });
          for (const card of column.cards) {
            const item = renderCard(repository, card, refresh);
            const relations = graphLine(data.graph, card.number);
            if (relations) item.append(el("p", { class: "graph", "data-graph": card.number, text: relations }));
            cards.append(item);
          }
          return el("section", { class: `column col-${column.id}`, "data-column": column.id, "aria-labelledby": `h-${column.id}` },
            el("h2", { id: `h-${column.id}` }, column.title, el("span", { class: "count", text: ` ${column.cards.length}` })),
            cards);
        }),
      );
      if (focused) columns.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
    }

    await refresh();
    setInterval(refresh, 2000);
  }

  // What blocks what (spec issues' features): "blocked by #2 · blocks #5 · part of #1".
  function graphLine(graph, number) {
    if (!graph) return "";
    const list = (numbers) => numbers.map((n) => `#${n}`).join(", ");
    const parts = [];
    const key = String(number);
    if (graph.blocked_by?.[key]) parts.push(`blocked by ${list(graph.blocked_by[key])}`);
    if (graph.blocks?.[key]) parts.push(`blocks ${list(graph.blocks[key])}`);
    if (graph.sub_issue_of?.[key]) parts.push(`part of ${list(graph.sub_issue_of[key])}`);
    return parts.join(" · ");
  }

  function renderCard(repository, card, refresh) {
    const title = `#${card.number} ${card.title || "(untitled)"}`;
    const heading = card.job_id
      ? link(`/jobs/${card.job_id}`, title, { "data-key": `job-${card.number}` })
      : el("span", { text: title });
    const meta = el("p", { class: "meta" });
    if (card.last_conclusion) meta.append(el("span", { class: `badge c-${card.last_conclusion}`, text: card.last_conclusion }));
    if (card.pull_request_url) meta.append(link(card.pull_request_url, "pull request"));
    if (card.html_url) meta.append(link(card.html_url, "issue"));
    if (card.cost_usd) meta.append(el("span", { class: "muted", text: `$${card.cost_usd.toFixed(2)}` }));
    const buttons = el("div", { class: "actions" },
      ...card.actions.map((name) => commandButton(repository, card.number, name, refresh)));
    return el("li", { class: "card", "data-issue": card.number }, el("h3", {}, heading), meta, buttons);
  }

  // -- session: the live log ----------------------------------------------------------------

  class LogView {
    // A virtualised list: every line is kept in `lines`, only the visible ones are in the DOM,
    // each row the same height, so a 10,000-line log scrolls as fast as a short one and
    // nothing around the box moves while lines arrive.
    constructor(box) {
      this.box = box;
      this.lines = [];
      this.ids = new Set();
      this.follow = true;
      this.pending = false;
      this.spacer = el("div", { class: "log-spacer" });
      this.rows = el("div", { class: "log-rows" });
      this.spacer.append(this.rows);
      box.append(this.spacer);
      const probe = el("div", { class: "row", text: "x" });
      this.rows.append(probe);
      this.rowHeight = probe.getBoundingClientRect().height || 20;
      probe.remove();
      box.addEventListener("scroll", () => {
        this.follow = box.scrollTop + box.clientHeight >= box.scrollHeight - this.rowHeight;
        this.schedule();
      }, { passive: true });
      window.addEventListener("resize", () => this.schedule());
    }

    add(batch) {
      for (const line of batch) {
        if (this.ids.has(line.id)) continue; // never shown twice
        this.ids.add(line.id);
        this.lines.push(line);
      }
      this.schedule();
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.render();
      });
    }

    render() {
      const height = this.lines.length * this.rowHeight;
      this.spacer.style.height = `${height}px`;
      if (this.follow) this.box.scrollTop = height;
      const overscan = 20;
      const first = Math.max(0, Math.floor(this.box.scrollTop / this.rowHeight) - overscan);
      const visible = Math.ceil(this.box.clientHeight / this.rowHeight) + 2 * overscan;
      const last = Math.min(this.lines.length, first + visible);
      this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
      const nodes = [];
      for (let i = first; i < last; i++) {
        const line = this.lines[i];
        const ok = line.ok === true ? " ok" : line.ok === false ? " bad" : "";
        nodes.push(el("div", { class: `row k-${line.kind}${ok}`, "data-id": line.id, text: line.text }));
      }
      this.rows.replaceChildren(...nodes);
    }
  }

  async function session() {
    const jobId = main.dataset.job;
    const repository = main.dataset.repository;
    const facts = el("dl", { class: "facts" });
    const buttons = el("div", { class: "actions" });
    const box = el("div", { class: "log", tabindex: "0", role: "log", "aria-label": "Session log", "aria-live": "off" });
    main.append(el("div", { class: "session-head" }, facts, buttons), box);
    const view = new LogView(box);
    window.autocoderLog = view;

    async function refreshJob() {
      let job;
      try {
        job = await getJSON(`/api/dashboard/jobs/${jobId}`);
      } catch (error) {
        say(`could not load the job: ${error.message}`);
        return;
      }
      const rows = [
        ["Issue", `#${job.issue_number} ${job.title || ""}`],
        ["State", job.state + (job.cancel_requested && job.state === "running" ? " (stopping)" : "")],
        ["Kind", job.kind],
        ["Attempts", `${job.attempts}/${job.max_attempts}`],
        ["Asked by", job.actor || "—"],
        ["Conclusion", job.conclusion || "—"],
        ["Spend", `${job.turns} turns · $${(job.cost_usd || 0).toFixed(4)}`],
      ];
      facts.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { "data-fact": k.toLowerCase(), text: v })]));
      if (job.pull_request_url) facts.append(el("dt", { text: "Pull request" }), el("dd", {}, link(job.pull_request_url, job.pull_request_url)));
      if (job.error) facts.append(el("dt", { text: "Note" }), el("dd", { text: job.error }));
      const active = job.state === "queued" || job.state === "running";
      buttons.replaceChildren(
        active
          ? commandButton(repository, job.issue_number, "stop", refreshJob)
          : commandButton(repository, job.issue_number, "retry", refreshJob),
      );
      return job;
    }

    await refreshJob();
    const source = new EventSource(`/api/dashboard/jobs/${jobId}/events`);
    source.addEventListener("lines", (event) => {
      view.add(JSON.parse(event.data));
      say(`${view.lines.length} lines · live`);
    });
    source.addEventListener("end", (event) => {
      source.close();
      const state = JSON.parse(event.data).state;
      say(`${view.lines.length} lines · ended (${state})`);
      main.dataset.ended = state;
      refreshJob();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CONNECTING) say(`${view.lines.length} lines · reconnecting…`);
    });
    const poll = setInterval(async () => {
      const job = await refreshJob();
      if (job && main.dataset.ended) clearInterval(poll);
    }, 3000);
  }

  const pages = { home, board, session };
  const render = pages[main.dataset.page];
  if (render) {
    render().catch((error) => say(`error: ${error.message}`));
  }
})();
