// autocoder dashboard: the project assistant, a side panel of the board page. What the model
// and people say is only ever set with textContent. A proposed feature change is written to
// GitHub only when the person presses its Confirm button.
"use strict";

(() => {
  const main = document.getElementById("main");
  if (!main || main.dataset.page !== "board") return;
  const repository = main.dataset.repository;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") || "";
  const base = `/api/dashboard/repos/${repository}/assistant`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const log = el("ol", { class: "chat", "aria-live": "polite", "aria-label": "conversation" });
  const changes = el("ol", { class: "proposals", "aria-label": "proposed changes" });
  const input = el("textarea", { id: "assistant-input", rows: "3", required: true,
    placeholder: "Ask about the code, or ask for a feature…" });
  const send = el("button", { type: "submit", class: "btn", text: "Send" });
  const note = el("p", { class: "assistant-status", role: "status" });
  const form = el("form", { class: "ask" },
    el("label", { for: "assistant-input", class: "visually-hidden", text: "Message" }), input, send);
  const panel = el("aside", { class: "assistant", "aria-labelledby": "assistant-title" },
    el("h2", { id: "assistant-title", text: "Project assistant" }), log, changes, note, form);
  main.append(panel);
  main.classList.add("with-assistant");

  async function call(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin", cache: "no-store",
      headers: { "X-CSRF-Token": csrf, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `${response.status}`);
    return data;
  }

  function render(data) {
    log.replaceChildren(...data.messages.filter((m) => m.content || m.tools.length).map((m) =>
      el("li", { class: `msg msg-${m.role}`, "data-role": m.role },
        el("p", { text: m.content }),
        m.tools.length ? el("p", { class: "tools", text: `used ${m.tools.join(", ")}` }) : null)));
    changes.replaceChildren(...data.proposals.map((p) => {
      const item = el("li", { class: `proposal status-${p.status}`, "data-proposal": p.id, "data-status": p.status },
        el("p", { class: "summary", text: p.summary }),
        el("pre", { class: "args", text: JSON.stringify(p.arguments, null, 2) }));
      if (p.status === "pending") {
        item.append(el("div", { class: "actions" },
          el("button", { type: "button", class: "btn btn-confirm", "data-decision": "confirm", text: "Confirm",
            onclick: () => decide(p.id, "confirm") }),
          el("button", { type: "button", class: "btn btn-reject", "data-decision": "reject", text: "Reject",
            onclick: () => decide(p.id, "reject") })));
      } else {
        item.append(el("p", { class: "outcome", text: p.status + (p.result ? `: ${p.result}` : "") }));
      }
      return item;
    }));
    log.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  async function busy(what, work) {
    send.disabled = true;
    note.textContent = what;
    try {
      render(await work());
      note.textContent = "";
    } catch (error) {
      note.textContent = `error: ${error.message}`;
    } finally {
      send.disabled = false;
    }
  }

  function decide(id, decision) {
    return busy(decision === "confirm" ? "writing to GitHub…" : "…",
      () => call("POST", `${base}/proposals/${id}/${decision}`));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    busy("thinking…", () => call("POST", `${base}/messages`, { text }));
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });

  busy("", () => call("GET", base));
})();
