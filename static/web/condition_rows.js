// The condition editor (routing.admin.widgets.ConditionRowsWidget): rows of field /
// operator / value over the JSON text the form submits. Every change of a row rewrites the
// JSON; an edit of the JSON redraws the rows. A condition the rows cannot show (a nested
// group, "not") is left to the JSON box, said so above it. Checking is the server's.
(function () {
  "use strict";
  var NO_VALUE = { is_empty: true, is_set: true };
  var LISTS = { in: true, not_in: true, between: true };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  // "50" -> 50; "007", "DE", "true" stay text (the engine compares as text anyway).
  function scalar(text) {
    return /^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) ? Number(text) : text;
  }

  function shown(value) {
    if (Array.isArray(value)) return value.map(String).join(", ");
    return value === undefined || value === null ? "" : String(value);
  }

  // {} / {"all": [leaf…]} / {"any": [leaf…]} / a bare leaf -> {mode, rows}; else null.
  function toRows(data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) return null;
    var keys = Object.keys(data);
    if (!keys.length) return { mode: "all", rows: [] };
    var isLeaf = function (c) {
      return c && typeof c === "object" && typeof c.field === "string" && typeof c.op === "string" &&
        Object.keys(c).every(function (k) { return k === "field" || k === "op" || k === "value"; });
    };
    if (keys.length === 1 && (keys[0] === "all" || keys[0] === "any") && Array.isArray(data[keys[0]])) {
      var children = data[keys[0]];
      return children.every(isLeaf) ? { mode: keys[0], rows: children } : null;
    }
    return isLeaf(data) ? { mode: "all", rows: [data] } : null;
  }

  function init(box) {
    if (box.dataset.ready || box.closest(".empty-form")) return;
    box.dataset.ready = "1";
    var ops = JSON.parse(box.dataset.ops);
    var textarea = box.querySelector("textarea");
    var raw = box.querySelector("details");
    var ui = el("div", { class: "cr-ui" });
    var note = el("p", { class: "cr-note", hidden: "" },
      "This condition nests groups: edit it as raw JSON below.");
    var mode = el("select", { "aria-label": "Match" });
    mode.append(el("option", { value: "all" }, "all of these"), el("option", { value: "any" }, "any of these"));
    var matchLine = el("p", { class: "cr-match" }, "Leads matching ");
    matchLine.append(mode);
    var list = el("ol", { class: "cr-list" });
    var add = el("button", { type: "button", class: "cr-add" }, "Add a condition");
    var empty = el("p", { class: "cr-empty" }, "No conditions: every lead matches.");
    ui.append(matchLine, list, empty, add);
    box.insertBefore(note, raw);
    box.insertBefore(ui, raw);

    function row(leaf) {
      var li = el("li", { class: "cr-row" });
      var field = el("input", { type: "text", list: box.querySelector("datalist").id, "aria-label": "Field",
        class: "cr-field", autocomplete: "off" });
      field.value = leaf.field || "";
      var op = el("select", { "aria-label": "Operator", class: "cr-op" });
      Object.keys(ops).forEach(function (k) { op.append(el("option", { value: k }, ops[k])); });
      op.value = leaf.op && ops[leaf.op] ? leaf.op : "eq";
      var value = el("input", { type: "text", "aria-label": "Value", class: "cr-value" });
      value.value = shown(leaf.value);
      var remove = el("button", { type: "button", class: "cr-remove", "aria-label": "Remove this condition" }, "×");
      function hint() {
        value.disabled = !!NO_VALUE[op.value];
        value.placeholder = op.value === "between" ? "low, high" : LISTS[op.value] ? "a, b, c" : "";
      }
      hint();
      op.addEventListener("change", function () { hint(); write(); });
      field.addEventListener("input", write);
      value.addEventListener("input", write);
      remove.addEventListener("click", function () { li.remove(); write(); });
      li.append(field, op, value, remove);
      return li;
    }

    function leafOf(li) {
      var leaf = { field: li.querySelector(".cr-field").value.trim(), op: li.querySelector(".cr-op").value };
      var text = li.querySelector(".cr-value").value;
      if (NO_VALUE[leaf.op]) return leaf;
      leaf.value = LISTS[leaf.op]
        ? text.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(scalar)
        : scalar(text.trim());
      return leaf;
    }

    function write() {
      var leaves = Array.prototype.map.call(list.children, leafOf);
      var data = {};
      if (leaves.length) data[mode.value] = leaves;
      textarea.value = JSON.stringify(data);
      empty.hidden = leaves.length > 0;
    }

    function draw() {
      var parsed = null;
      try { parsed = toRows(JSON.parse(textarea.value.trim() || "{}")); } catch (e) { parsed = null; }
      ui.hidden = !parsed;
      note.hidden = !!parsed;
      if (!parsed) { raw.open = true; return; }
      mode.value = parsed.mode;
      list.replaceChildren.apply(list, parsed.rows.map(row));
      empty.hidden = parsed.rows.length > 0;
    }

    mode.addEventListener("change", write);
    add.addEventListener("click", function () {
      var li = row({ op: "eq" });
      list.append(li);
      empty.hidden = true;
      li.querySelector(".cr-field").focus();
    });
    textarea.addEventListener("change", draw);
    draw();
    // The rows are the editor; the JSON is one click away (open when the rows cannot show it).
    if (!ui.hidden) raw.open = false;
  }

  function initAll(root) {
    (root || document).querySelectorAll("[data-condition-rows]").forEach(init);
  }
  document.addEventListener("DOMContentLoaded", function () { initAll(); });
  // A rule added with "Add another Rule": Django's inlines.js clones the empty form.
  document.addEventListener("formset:added", function (event) { initAll(event.target); });
})();
