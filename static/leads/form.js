/*
 * LeadHub hosted form: partial-submission capture.
 *
 * When a field changes or loses focus, its value is sent (debounced) to the form's partial
 * endpoint with the page's form session, so a form that is abandoned still leaves a lead.
 * Failures are ignored: the final submission is authoritative, and nothing here delays or
 * blocks it. Without JavaScript the form works the same, only without partials.
 */
(() => {
  "use strict";

  const DELAY_MS = 500;
  const NOT_SENT = new Set(["lh_session", "csrfmiddlewaretoken"]);

  // After a refused submission, take keyboard and screen-reader users to the error list.
  const summary = document.getElementById("lh-error-summary");
  if (summary) {
    summary.focus();
  }

  const form = document.querySelector("form.lh-form[data-partial-url]");
  if (!form || !window.fetch || !window.URLSearchParams) {
    return;
  }
  const url = form.dataset.partialUrl;
  const session = form.elements.namedItem("lh_session");
  const csrf = form.elements.namedItem("csrfmiddlewaretoken");
  if (!session) {
    return;
  }

  const lastSent = new Map(); // field name -> value last sent
  const pending = new Map(); // field name -> [timer, field]
  let submitting = false;

  function send(field) {
    pending.delete(field.name);
    const value = field.value.trim();
    if (submitting || value === "" || lastSent.get(field.name) === value) {
      return;
    }
    lastSent.set(field.name, value);
    const body = new URLSearchParams();
    body.set(field.name, value);
    body.set("lh_session", session.value);
    // The campaign the visitor came from, so an abandoned form keeps its attribution.
    form.querySelectorAll('input[type="hidden"][name^="utm_"]').forEach((hidden) => {
      if (hidden.value) {
        body.set(hidden.name, hidden.value);
      }
    });
    if (csrf) {
      body.set("csrfmiddlewaretoken", csrf.value);
    }
    // keepalive lets the last field reach us even when the visitor is leaving the page.
    fetch(url, { method: "POST", body, credentials: "same-origin", keepalive: true }).catch(
      () => {}
    );
  }

  function schedule(event) {
    const field = event.target;
    if (!field.name || NOT_SENT.has(field.name) || field.type === "hidden") {
      return;
    }
    if (!field.matches("input, textarea, select")) {
      return;
    }
    const waiting = pending.get(field.name);
    if (waiting) {
      clearTimeout(waiting[0]);
    }
    pending.set(field.name, [setTimeout(() => send(field), DELAY_MS), field]);
  }

  function cancelPending() {
    pending.forEach(([timer]) => clearTimeout(timer));
    pending.clear();
  }

  form.addEventListener("change", schedule);
  form.addEventListener("focusout", schedule); // blur does not bubble; focusout does
  form.addEventListener("submit", () => {
    submitting = true;
    cancelPending();
  });
  window.addEventListener("pagehide", () => {
    const fields = Array.from(pending.values(), ([, field]) => field);
    cancelPending();
    fields.forEach(send);
  });
  window.addEventListener("pageshow", (event) => {
    // Coming back through the history cache: the visitor may edit and submit again.
    if (event.persisted) {
      submitting = false;
    }
  });
})();
