// grpcx explorer: pick a method, build its request in a form or as JSON, call it over the
// gateway's WebSocket at the method's generic path (every kind of method the same way), and
// show what comes back. Plain JavaScript, no build step, nothing fetched from elsewhere.
"use strict";

(function () {
  const TOKEN = document.querySelector('meta[name="grpcx-token"]').content;
  const HISTORY_KEY = "grpcx-explorer-history";
  const HISTORY_SIZE = 30;
  const CODE_NAMES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];
  const INT32 = ["int32", "sint32", "sfixed32", "uint32", "fixed32"];
  const INT64 = ["int64", "sint64", "sfixed64", "uint64", "fixed64"];
  const WRAPPERS = {
    "google.protobuf.DoubleValue": "double", "google.protobuf.FloatValue": "float",
    "google.protobuf.Int64Value": "int64", "google.protobuf.UInt64Value": "uint64",
    "google.protobuf.Int32Value": "int32", "google.protobuf.UInt32Value": "uint32",
    "google.protobuf.BoolValue": "bool", "google.protobuf.StringValue": "string",
    "google.protobuf.BytesValue": "bytes",
  };
  // Well-known types written as any JSON: edited as JSON text.
  const JSON_VALUED = ["google.protobuf.Struct", "google.protobuf.Value",
    "google.protobuf.ListValue", "google.protobuf.Any"];

  const $ = (id) => document.getElementById(id);
  const schema = { services: [], messages: {}, enums: {}, upstream: {} };
  const state = {
    method: null,      // the selected method, from the schema
    request: {},       // the request being edited, in the JSON mapping
    socket: null,      // the call under way
    sent: [],          // the request messages of the last call
    started: 0,
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // ---------- the schema and the method list ----------

  async function load() {
    const answer = await fetch("/ui/schema.json", { headers: { "X-Grpcx-Token": TOKEN } });
    if (!answer.ok) throw new Error("the gateway answered " + answer.status + " for its schema");
    Object.assign(schema, await answer.json());
    const target = schema.upstream.address + (schema.upstream.tls ? " (TLS)" : " (plaintext)");
    $("upstream").textContent = "upstream " + target;
    renderMethods("");
    renderHistory();
    const fromUrl = readUrl();
    const first = fromUrl.method || (schema.services[0] && schema.services[0].methods[0].fullName);
    if (first && findMethod(first)) {
      select(first, fromUrl.request);
    } else {
      $("loading").textContent = schema.services.length
        ? "Pick a method on the left."
        : "The upstream has no services to call.";
    }
  }

  function findMethod(fullName) {
    for (const service of schema.services) {
      for (const method of service.methods) if (method.fullName === fullName) return method;
    }
    return null;
  }

  const KIND_WORDS = {
    unary: "unary", server_streaming: "server stream",
    client_streaming: "client stream", bidi_streaming: "bidi stream",
  };

  function renderMethods(filter) {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    const list = $("methods");
    list.replaceChildren();
    for (const service of schema.services) {
      const methods = service.methods.filter((method) => {
        const text = (method.fullName + " " + (method.comment || "")).toLowerCase();
        return words.every((word) => text.includes(word));
      });
      if (!methods.length) continue;
      list.append(el("li", { class: "service", text: service.name, title: service.comment }));
      for (const method of methods) {
        list.append(el("li", {},
          el("button", {
            type: "button",
            "data-method": method.fullName,
            "aria-current": state.method && state.method.fullName === method.fullName ? "true" : "false",
            title: method.comment,
            onclick: () => select(method.fullName),
          }, el("span", { text: method.name }), el("span", { class: "badge", text: KIND_WORDS[method.kind] }))));
      }
    }
    if (!list.children.length) list.append(el("li", { class: "service", text: "No method matches." }));
  }

  function select(fullName, request) {
    const method = findMethod(fullName);
    if (!method) return;
    stopCall("CANCELLED", "a new method was picked");
    state.method = method;
    state.request = request !== undefined ? request : template(method.input, 0, []);
    $("empty").hidden = true;
    $("method").hidden = false;
    $("method-name").textContent = method.fullName;
    $("method-kind").textContent = KIND_WORDS[method.kind] + (method.deprecated ? " · deprecated" : "");
    $("method-comment").textContent = method.comment || "";
    $("request-type").textContent = method.input;
    $("method-routes").replaceChildren(...method.routes.map((route) =>
      el("li", { text: route.method + " " + route.path + (route.generic ? "  (generic)" : "") })));
    for (const button of document.querySelectorAll("#methods button")) {
      button.setAttribute("aria-current", button.dataset.method === fullName ? "true" : "false");
    }
    clearResult();
    $("copied").hidden = true;
    renderForm();
    renderJson();
    setCallButtons(false);
  }

  // ---------- request templates and the form ----------

  function zero(type) {
    if (INT32.includes(type) || type === "double" || type === "float") return 0;
    if (INT64.includes(type)) return "0";
    if (type === "bool") return false;
    return "";
  }

  // A message with every field at its zero value, nested messages included (not through
  // recursion, and not past a few levels); oneofs and optional fields are left out, as setting
  // them means something.
  function template(typeName, depth, seen) {
    const message = schema.messages[typeName];
    if (!message) return {};
    const value = {};
    for (const field of message.fields) {
      if (field.oneof || field.label === "optional" || field.outputOnly) continue;
      if (field.label === "repeated") { value[field.jsonName] = []; continue; }
      if (field.label === "map") { value[field.jsonName] = {}; continue; }
      if (field.type === "message") {
        if (schema.messages[field.message] && depth < 3 && !seen.includes(field.message)) {
          value[field.jsonName] = template(field.message, depth + 1, seen.concat(typeName));
        }
        continue;
      }
      value[field.jsonName] = initialOf(field);
    }
    return value;
  }

  function renderForm() {
    const form = $("form");
    const message = schema.messages[state.method.input];
    if (message && !message.fields.length) {
      form.replaceChildren(el("p", { class: "doc", text: "This request has no fields." }));
      return;
    }
    form.replaceChildren(messageEditor(state.method.input, () => state.request, (value) => {
      state.request = value || {};
    }));
  }

  // Everything in the form reads and writes the request through get/set pairs, so that a
  // nested editor changes its part of the whole; every change is written to the JSON editor.
  function changed() {
    renderJson();
    writeUrl();
  }

  function messageEditor(typeName, get, set) {
    const message = schema.messages[typeName];
    const box = el("div", { class: "nested" });
    if (!message) {
      box.append(el("p", { class: "doc", text: typeName + " is not in the schema; edit it as JSON." }));
      return box;
    }
    const object = () => get() || {};
    const oneofs = [];
    for (const field of message.fields) {
      if (field.oneof) {
        if (!oneofs.includes(field.oneof)) {
          oneofs.push(field.oneof);
          box.append(oneofEditor(message, field.oneof, object, set));
        }
        continue;
      }
      box.append(fieldEditor(field, object, set));
    }
    return box;
  }

  function oneofEditor(message, name, object, set) {
    const members = message.fields.filter((field) => field.oneof === name);
    const chosen = members.find((field) => object()[field.jsonName] !== undefined);
    const holder = el("div", { class: "field" });
    const id = "oneof-" + Math.random().toString(36).slice(2);
    const choice = el("select", { id, "data-oneof": name },
      el("option", { value: "", text: "(none)" }),
      members.map((field) => el("option", { value: field.jsonName, text: field.name, selected: chosen === field })));
    const body = el("div");
    const draw = () => {
      const member = members.find((field) => field.jsonName === choice.value);
      body.replaceChildren(member ? fieldEditor(member, object, set, true) : "");
    };
    choice.addEventListener("change", () => {
      const value = Object.assign({}, object());
      for (const field of members) delete value[field.jsonName];
      const member = members.find((field) => field.jsonName === choice.value);
      if (member) value[member.jsonName] = initial(member);
      set(value);
      draw();
      changed();
    });
    holder.append(el("label", { for: id }, "oneof " + name, el("span", { class: "hint", text: "one of " + members.map((f) => f.name).join(", ") })), choice, body);
    draw();
    return holder;
  }

  // The value a field gets when the form adds it.
  function initial(field) {
    if (field.label === "repeated") return [];
    if (field.label === "map") return {};
    return initialOf(field);
  }

  function initialOf(type) {
    if (type.type === "message") {
      if (WRAPPERS[type.message]) return zero(WRAPPERS[type.message]);
      if (type.message === "google.protobuf.Timestamp") return new Date().toISOString();
      if (type.message === "google.protobuf.Duration") return "1s";
      if (type.message === "google.protobuf.FieldMask") return "";
      if (type.message === "google.protobuf.ListValue") return [];
      if (type.message === "google.protobuf.Value") return null;
      return schema.messages[type.message] ? template(type.message, 1, []) : {};
    }
    if (type.type === "enum") {
      // NullValue's JSON form is null itself.
      if (type.enum === "google.protobuf.NullValue") return null;
      const values = (schema.enums[type.enum] || { values: [] }).values;
      return values.length ? values[0].name : 0;
    }
    return zero(type.type);
  }

  function typeWords(type) {
    if (type.type === "message") return type.message;
    if (type.type === "enum") return type.enum;
    return type.type;
  }

  function fieldEditor(field, object, set, inOneof) {
    const id = "f-" + Math.random().toString(36).slice(2);
    const holder = el("div", { class: "field" + (field.deprecated ? " deprecated" : ""), "data-field": field.jsonName });
    const label = field.label === "map"
      ? "map<" + field.key.type + ", " + typeWords(field.value) + ">"
      : (field.label === "repeated" ? "repeated " : field.label === "optional" ? "optional " : "") + typeWords(field);
    holder.append(el("label", { for: id }, field.name + (field.required ? " *" : ""),
      el("span", { class: "hint", text: label + " = " + field.number })));
    if (field.comment) holder.append(el("p", { class: "doc", text: field.comment }));
    const getField = () => object()[field.jsonName];
    const setField = (value) => {
      const next = Object.assign({}, object());
      if (value === undefined) delete next[field.jsonName]; else next[field.jsonName] = value;
      set(next);
    };
    if (field.label === "repeated") holder.append(listEditor(field, getField, setField, id));
    else if (field.label === "map") holder.append(mapEditor(field, getField, setField, id));
    else holder.append(valueEditor(field, getField, setField, id, !inOneof));
    return holder;
  }

  function listEditor(field, get, set, id) {
    const box = el("div", { id, class: "list" });
    const draw = () => {
      const items = get() || [];
      box.replaceChildren();
      items.forEach((item, index) => {
        const getItem = () => (get() || [])[index];
        const setItem = (value) => {
          const next = (get() || []).slice();
          next[index] = value === undefined ? initialOf(field) : value;
          set(next);
        };
        box.append(el("div", { class: "item" },
          el("div", { class: "grow" }, valueEditor(field, getItem, setItem, id + "-" + index, false)),
          el("button", {
            type: "button", class: "small", title: "remove", "aria-label": "remove item " + (index + 1),
            onclick: () => { const next = (get() || []).slice(); next.splice(index, 1); set(next); draw(); changed(); },
          }, "×")));
      });
      box.append(el("button", {
        type: "button", class: "small", "data-add": field.jsonName,
        onclick: () => { set((get() || []).concat([initialOf(field)])); draw(); changed(); },
      }, "+ add " + field.name));
    };
    draw();
    return box;
  }

  function mapEditor(field, get, set, id) {
    const box = el("div", { id, class: "list" });
    const draw = () => {
      const entries = Object.entries(get() || {});
      box.replaceChildren();
      const write = (list) => { const next = {}; for (const [k, v] of list) next[k] = v; set(next); };
      entries.forEach(([key], index) => {
        const keyInput = el("input", { type: "text", value: key, "aria-label": field.name + " key", placeholder: "key (" + field.key.type + ")" });
        keyInput.addEventListener("change", () => {
          const list = Object.entries(get() || {});
          if (list[index]) list[index][0] = keyInput.value;
          write(list);
          changed();
        });
        const getValue = () => (Object.entries(get() || {})[index] || [])[1];
        const setValue = (value) => {
          const list = Object.entries(get() || {});
          if (list[index]) list[index][1] = value === undefined ? initialOf(field.value) : value;
          write(list);
        };
        box.append(el("div", { class: "item" },
          el("div", { class: "grow" }, el("div", { class: "row" }, keyInput),
            valueEditor(field.value, getValue, setValue, id + "-" + index, false)),
          el("button", {
            type: "button", class: "small", "aria-label": "remove entry " + key,
            onclick: () => { const list = Object.entries(get() || {}); list.splice(index, 1); write(list); draw(); changed(); },
          }, "×")));
      });
      box.append(el("button", {
        type: "button", class: "small", "data-add": field.jsonName,
        onclick: () => {
          const list = Object.entries(get() || {});
          let key = field.key.type === "bool" ? "true" : (field.key.type === "string" ? "key" : "0");
          for (let n = 1; list.some(([k]) => k === key); n++) key = field.key.type === "string" ? "key" + n : String(n);
          list.push([key, initialOf(field.value)]);
          write(list); draw(); changed();
        },
      }, "+ add entry"));
    };
    draw();
    return box;
  }

  // One value of `type` (a field, a list item or a map value). `removable`: emptying the input
  // leaves the field out of the request.
  function valueEditor(type, get, set, id, removable) {
    const kind = type.type;
    if (kind === "message") return messageValueEditor(type, get, set, id, removable);
    if (kind === "enum") {
      const values = (schema.enums[type.enum] || { values: [] }).values;
      const current = get();
      const select = el("select", { id },
        removable ? el("option", { value: "", text: "(not set)" }) : null,
        values.map((value) => el("option", {
          value: value.name, text: value.name + " = " + value.number,
          selected: current === value.name || current === value.number,
        })));
      select.addEventListener("change", () => { set(select.value === "" ? undefined : select.value); changed(); });
      return select;
    }
    if (kind === "bool") {
      const box = el("input", { id, type: "checkbox", checked: get() === true });
      box.addEventListener("change", () => { set(box.checked); changed(); });
      return el("div", { class: "row" }, box);
    }
    return scalarInput(kind, get, set, id, removable);
  }

  function scalarInput(kind, get, set, id, removable, placeholder) {
    const current = get();
    const numeric = INT32.includes(kind);
    const input = el("input", {
      id, type: numeric ? "number" : "text", step: numeric ? "1" : undefined,
      inputmode: INT64.includes(kind) ? "numeric" : (kind === "double" || kind === "float") ? "decimal" : undefined,
      value: current === undefined || current === null ? "" : String(current),
      placeholder: placeholder || (kind === "bytes" ? "base64" : kind),
    });
    input.addEventListener("input", () => {
      const text = input.value;
      if (text === "" && removable) set(undefined);
      else if (numeric) set(text === "" ? 0 : Number(text));
      else if (kind === "double" || kind === "float") {
        set(text !== "" && !isNaN(Number(text)) ? Number(text) : text);
      } else set(text);
      changed();
    });
    return input;
  }

  function messageValueEditor(type, get, set, id, removable) {
    const name = type.message;
    if (WRAPPERS[name]) {
      const inner = { type: WRAPPERS[name] };
      return inner.type === "bool"
        ? valueEditor(inner, get, set, id, true)
        : scalarInput(inner.type, get, set, id, true, inner.type + " (empty: null)");
    }
    const text = (placeholder) => {
      const current = get();
      const input = el("input", { id, type: "text", value: typeof current === "string" ? current : "", placeholder });
      input.addEventListener("input", () => { set(input.value === "" && removable ? undefined : input.value); changed(); });
      return input;
    };
    if (name === "google.protobuf.Timestamp") {
      const input = text("RFC 3339, e.g. 2024-05-01T12:00:00Z");
      return el("div", { class: "row" }, input, el("button", {
        type: "button", class: "small",
        onclick: () => { input.value = new Date().toISOString(); set(input.value); changed(); },
      }, "now"));
    }
    if (name === "google.protobuf.Duration") return text("e.g. 1.5s");
    if (name === "google.protobuf.FieldMask") return text("paths, comma-separated: a,b.c");
    if (name === "google.protobuf.Empty") return el("span", { class: "hint", text: "{} (empty)" });
    if (JSON_VALUED.includes(name) || !schema.messages[name]) {
      const current = get();
      const area = el("textarea", {
        id, spellcheck: "false",
        placeholder: name === "google.protobuf.Any" ? '{"@type": "type.googleapis.com/...", ...}' : "any JSON",
      });
      area.value = current === undefined ? "" : JSON.stringify(current, null, 1);
      area.addEventListener("input", () => {
        if (area.value.trim() === "") { set(undefined); changed(); return; }
        try { set(JSON.parse(area.value)); area.setCustomValidity(""); changed(); } catch (e) { area.setCustomValidity("not JSON"); }
      });
      return area;
    }
    // A message: drawn when it is set, so that recursive messages stay finite.
    const box = el("div", { id });
    const draw = () => {
      if (get() === undefined || get() === null) {
        box.replaceChildren(el("button", {
          type: "button", class: "small", "data-set": id,
          onclick: () => { set(template(name, 1, [])); draw(); changed(); },
        }, "+ set " + name.split(".").pop()));
      } else {
        box.replaceChildren(
          removable ? el("button", { type: "button", class: "small", onclick: () => { set(undefined); draw(); changed(); } }, "clear") : "",
          messageEditor(name, get, (value) => set(value)));
      }
    };
    draw();
    return box;
  }

  // ---------- the JSON editor, kept in step with the form ----------

  function renderJson() {
    $("json").value = JSON.stringify(state.request, null, 2);
    $("json-error").textContent = "";
  }

  $("json").addEventListener("input", () => {
    try {
      const value = JSON.parse($("json").value);
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new Error("the request is a JSON object: { ... }");
      }
      state.request = value;
      $("json-error").textContent = "";
      renderForm();
      writeUrl();
    } catch (error) {
      $("json-error").textContent = "Not a request yet: " + error.message;
    }
  });

  // ---------- metadata and deadline ----------

  function addMetadataRow(key, value) {
    const keyInput = el("input", { type: "text", placeholder: "key", value: key || "", "aria-label": "metadata key", class: "meta-key" });
    const valueInput = el("input", { type: "text", placeholder: "value", value: value || "", "aria-label": "metadata value", class: "meta-value" });
    const row = el("div", { class: "pair" }, keyInput, valueInput,
      el("button", { type: "button", "aria-label": "remove metadata", onclick: () => { row.remove(); } }, "×"));
    $("metadata-rows").append(row);
    return row;
  }

  // The metadata rows, checked by gRPC's rules: ASCII keys that do not start with `grpc-`,
  // printable ASCII values, base64 values under keys that end in `-bin`.
  function metadata() {
    const pairs = [];
    for (const row of $("metadata-rows").querySelectorAll(".pair")) {
      const key = row.querySelector(".meta-key").value.trim().toLowerCase();
      const value = row.querySelector(".meta-value").value;
      if (!key && !value) continue;
      if (!/^[0-9a-z_.-]+$/.test(key)) throw new Error("metadata key `" + key + "`: keys are ASCII letters, digits and - _ .");
      if (key.startsWith("grpc-")) throw new Error("metadata key `" + key + "`: keys starting with grpc- are gRPC's own");
      if (key.endsWith("-bin")) {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new Error("metadata `" + key + "`: a -bin value is base64");
      } else if (!/^[\x20-\x7e]*$/.test(value)) {
        throw new Error("metadata `" + key + "`: a value is printable ASCII (binary values go under keys ending in -bin, as base64)");
      }
      pairs.push([key, value]);
    }
    return pairs;
  }

  function deadline() {
    const text = $("deadline").value.trim();
    if (!text) return null;
    const seconds = Number(text);
    if (!(seconds > 0)) throw new Error("the deadline is a number of seconds above 0");
    return seconds;
  }

  // ---------- calls ----------

  function setCallButtons(calling) {
    const streamsRequests = state.method && (state.method.kind === "client_streaming" || state.method.kind === "bidi_streaming");
    $("call").disabled = calling;
    $("send").hidden = !(calling && streamsRequests);
    $("half-close").hidden = !(calling && streamsRequests);
    $("cancel").hidden = !calling;
  }

  function clearResult() {
    $("status").textContent = "";
    $("status").className = "status";
    $("elapsed").textContent = "";
    $("status-message").textContent = "";
    $("status-details").hidden = true;
    $("messages").replaceChildren();
    $("response-headers").replaceChildren();
    $("response-trailers").replaceChildren();
  }

  function showMessage(direction, value) {
    const list = $("messages");
    const count = list.querySelectorAll("li." + direction).length + 1;
    list.append(el("li", { class: direction },
      el("span", { class: "dir", text: (direction === "sent" ? "→ sent #" : "← received #") + count }),
      el("pre", { text: JSON.stringify(value, null, 2) })));
  }

  function showTable(id, map) {
    const rows = [];
    for (const [key, value] of Object.entries(map || {})) {
      for (const one of Array.isArray(value) ? value : [value]) {
        rows.push(el("tr", {}, el("td", { text: key }), el("td", { text: String(one) })));
      }
    }
    $(id).replaceChildren(...rows);
  }

  function showStatus(status) {
    const name = CODE_NAMES[status.code] || "CODE " + status.code;
    $("status").textContent = name;
    $("status").className = "status " + (status.code === 0 ? "ok" : "bad");
    $("elapsed").textContent = ((performance.now() - state.started) / 1000).toFixed(3) + " s";
    $("status-message").textContent = status.message || "";
    if (status.details && status.details.length) {
      $("status-details").hidden = false;
      $("status-details").textContent = JSON.stringify(status.details, null, 2);
    }
  }

  function call() {
    let pairs, seconds;
    try {
      pairs = metadata();
      seconds = deadline();
      $("metadata-error").textContent = "";
    } catch (error) {
      $("metadata-error").textContent = error.message;
      return;
    }
    if ($("json-error").textContent) return;
    clearResult();
    const method = state.method;
    const query = new URLSearchParams();
    query.set("grpcx-token", TOKEN);
    for (const [key, value] of pairs) query.append("grpc-metadata-" + key, value);
    if (seconds !== null) query.set("grpc-timeout", Math.max(1, Math.round(seconds * 1000)) + "m");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + method.path + "?" + query.toString());
    state.socket = socket;
    state.sent = [];
    state.started = performance.now();
    let ended = false;
    $("status").textContent = "calling…";
    setCallButtons(true);
    socket.addEventListener("open", () => sendMessage());
    socket.addEventListener("message", (event) => {
      if (state.socket !== socket) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      if (frame.headers) showTable("response-headers", frame.headers);
      if ("result" in frame) showMessage("received", frame.result);
      if (frame.status) {
        ended = true;
        showStatus(frame.status);
        showTable("response-trailers", frame.trailers);
      }
    });
    socket.addEventListener("close", (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      setCallButtons(false);
      if (!ended) {
        showStatus({
          code: 14,
          message: "the gateway closed the call without a status (" + (event.reason || "code " + event.code) +
            "); a refused WebSocket says why in the gateway's log",
        });
      }
    });
    remember(method.fullName, state.request, pairs, seconds);
  }

  function sendMessage() {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const message = state.request;
    state.sent.push(message);
    socket.send(JSON.stringify(message));
    const kind = state.method.kind;
    if (kind === "client_streaming" || kind === "bidi_streaming") showMessage("sent", message);
  }

  function halfClose() {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send("");
      $("send").hidden = true;
      $("half-close").hidden = true;
    }
  }

  function stopCall(code, why) {
    const socket = state.socket;
    if (!socket) return;
    state.socket = null;
    socket.close(1000, "cancelled");
    showStatus({ code: CODE_NAMES.indexOf(code), message: why });
    setCallButtons(false);
  }

  // ---------- copy as ----------

  function shellQuote(text) {
    return /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
  }

  // The requests a copied command sends: those of the last call of a request stream, else the
  // one in the editor.
  function requestsForCopy() {
    const kind = state.method.kind;
    if ((kind === "client_streaming" || kind === "bidi_streaming") && state.sent.length) return state.sent;
    return [state.request];
  }

  function copyGrpcx() {
    const up = schema.upstream;
    const words = ["grpcx", "--addr", up.address];
    if (!/^(https?:|unix:)/.test(up.address)) words.push(up.tls ? "--tls" : "--plaintext");
    words.push("call");
    for (const [key, value] of metadata()) words.push("-H", key + ": " + value);
    const seconds = deadline();
    if (seconds !== null) words.push("--max-time", seconds + "s");
    words.push(state.method.fullName.replace(/\.([^.]+)$/, "/$1"));
    words.push(requestsForCopy().map((r) => JSON.stringify(r)).join(" "));
    return words.map(shellQuote).join(" ");
  }

  function copyGrpcurl() {
    const up = schema.upstream;
    const words = ["grpcurl"];
    let address = up.address.replace(/^https?:\/\//, "");
    if (!up.tls) words.push("-plaintext");
    if (address.startsWith("unix:")) { words.push("-unix"); address = address.slice(5); }
    for (const [key, value] of metadata()) words.push("-H", key + ": " + value);
    const seconds = deadline();
    if (seconds !== null) words.push("-max-time", String(seconds));
    words.push("-d", requestsForCopy().map((r) => JSON.stringify(r)).join("\n"));
    words.push(address, state.method.fullName.replace(/\.([^.]+)$/, "/$1"));
    return words.map(shellQuote).join(" ");
  }

  // The value at a dotted field path of the request (JSON or proto names).
  function fieldAt(request, typeName, path) {
    let value = request;
    let message = schema.messages[typeName];
    const keys = [];
    for (const name of path) {
      const field = message && message.fields.find((f) => f.name === name || f.jsonName === name);
      if (!field || value === null || typeof value !== "object") return { missing: true };
      keys.push(field.jsonName);
      value = value[field.jsonName];
      message = field.type === "message" ? schema.messages[field.message] : null;
    }
    return { value, keys };
  }

  function withoutPath(request, keys) {
    const copy = JSON.parse(JSON.stringify(request));
    let parent = copy;
    for (const key of keys.slice(0, -1)) {
      if (parent[key] === null || typeof parent[key] !== "object") return copy;
      parent = parent[key];
    }
    delete parent[keys[keys.length - 1]];
    return copy;
  }

  // `a.b=1&c=x&c=y`: the fields left for the query string, or null when one cannot go there.
  function queryOf(value, prefix, out) {
    for (const [key, item] of Object.entries(value)) {
      const name = prefix + key;
      if (Array.isArray(item)) {
        for (const one of item) {
          if (one !== null && typeof one === "object") return null;
          out.append(name, String(one));
        }
      } else if (item !== null && typeof item === "object") {
        if (queryOf(item, name + ".", out) === null) return null;
      } else if (item !== null && item !== undefined) {
        out.append(name, String(item));
      }
    }
    return out;
  }

  // The REST route of the method with the request in its path, query and body; the generic
  // route when no REST route can carry this request.
  function restRequest() {
    const method = state.method;
    const request = state.request;
    for (const route of method.routes) {
      if (route.generic) continue;
      let rest = request;
      let path = route.path.replace(/\{([^}=]+)(=[^}]*)?\}/g, (whole, name, pattern) => {
        const found = fieldAt(request, method.input, name.split("."));
        if (found.missing || found.value === undefined || found.value === null || typeof found.value === "object" || found.value === "") {
          throw new Error("unfilled");
        }
        rest = withoutPath(rest, found.keys);
        const text = encodeURIComponent(String(found.value));
        return pattern ? text.replace(/%2F/gi, "/") : text;
      });
      let body = null;
      if (route.body === "*") {
        body = rest;
      } else {
        let left = rest;
        if (route.body) {
          const found = fieldAt(rest, method.input, [route.body]);
          if (!found.missing && found.value !== undefined) body = found.value;
          if (!found.missing) left = withoutPath(rest, found.keys);
        }
        const query = queryOf(left, "", new URLSearchParams());
        if (query === null) throw new Error("no query");
        const text = query.toString();
        if (text) path += "?" + text;
      }
      return { verb: route.method, path, body };
    }
    throw new Error("no REST route");
  }

  function copyCurl() {
    const method = state.method;
    let rest;
    const requests = requestsForCopy();
    try {
      if (requests.length !== 1 || method.kind === "client_streaming" || method.kind === "bidi_streaming") throw new Error("stream");
      rest = restRequest();
    } catch (error) {
      rest = { verb: "POST", path: method.path, body: null, generic: true };
    }
    const words = ["curl", "-sS"];
    if (method.kind !== "unary") words.push("-N");
    if (rest.verb !== "GET" || rest.body !== null || rest.generic) words.push("-X", rest.verb);
    words.push(location.protocol + "//" + location.host + rest.path);
    for (const [key, value] of metadata()) words.push("-H", "Grpc-Metadata-" + key + ": " + value);
    const seconds = deadline();
    if (seconds !== null) words.push("-H", "Grpc-Timeout: " + Math.max(1, Math.round(seconds * 1000)) + "m");
    if (rest.generic) {
      words.push("-H", "Content-Type: application/json");
      words.push("--data-binary", requests.map((r) => JSON.stringify(r)).join("\n"));
    } else if (rest.body !== null && rest.body !== undefined) {
      words.push("-H", "Content-Type: application/json", "--data-binary", JSON.stringify(rest.body));
    }
    return words.map(shellQuote).join(" ");
  }

  async function copy(make) {
    let text;
    try {
      text = make();
    } catch (error) {
      $("metadata-error").textContent = error.message;
      return;
    }
    const shown = $("copied");
    shown.hidden = false;
    shown.textContent = text;
    try {
      await navigator.clipboard.writeText(text);
      shown.title = "copied to the clipboard";
    } catch (error) {
      // No clipboard (an insecure context or a denied permission): the text is shown to copy.
      shown.title = "select and copy";
    }
  }

  // ---------- history and the URL ----------

  function loadHistory() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch (error) { return []; }
  }

  function remember(method, request, pairs, seconds) {
    const entry = { method, request, metadata: pairs, deadline: seconds, at: new Date().toISOString() };
    const history = loadHistory().filter((old) => JSON.stringify([old.method, old.request]) !== JSON.stringify([method, request]));
    history.unshift(entry);
    try { localStorage.setItem(HISTORY_KEY, JSON.stringify(history.slice(0, HISTORY_SIZE))); } catch (error) { /* full or off */ }
    renderHistory();
  }

  function renderHistory() {
    const list = $("history");
    list.replaceChildren(...loadHistory().map((entry) => el("li", {},
      el("button", {
        type: "button", title: entry.at + "\n" + JSON.stringify(entry.request),
        onclick: () => {
          select(entry.method, entry.request);
          $("metadata-rows").replaceChildren();
          for (const [key, value] of entry.metadata || []) addMetadataRow(key, value);
          $("deadline").value = entry.deadline || "";
          writeUrl();
        },
      }, entry.method.split(".").pop() + " " + JSON.stringify(entry.request)))));
    if (!list.children.length) list.append(el("li", { class: "doc", text: "Calls you make are kept here, in this browser." }));
  }

  function readUrl() {
    const params = new URLSearchParams(location.hash.slice(1));
    const out = { method: params.get("method") };
    if (params.has("request")) {
      try { out.request = JSON.parse(params.get("request")); } catch (error) { /* a broken link: the template */ }
    }
    return out;
  }

  function writeUrl() {
    if (!state.method) return;
    const params = new URLSearchParams();
    params.set("method", state.method.fullName);
    params.set("request", JSON.stringify(state.request));
    history.replaceState(null, "", "#" + params.toString());
  }

  // ---------- wiring ----------

  $("search").addEventListener("input", () => renderMethods($("search").value));
  $("search").addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === "ArrowDown") {
      const first = document.querySelector("#methods button");
      if (first) { event.preventDefault(); event.key === "Enter" ? first.click() : first.focus(); }
    }
  });
  $("methods").addEventListener("keydown", (event) => {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = Array.from(document.querySelectorAll("#methods button"));
    const at = buttons.indexOf(document.activeElement);
    const next = buttons[at + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) { event.preventDefault(); next.focus(); }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
      event.preventDefault();
      $("search").focus();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && state.method) {
      event.preventDefault();
      if (state.socket) sendMessage(); else call();
    } else if (event.key === "Escape" && state.socket) {
      stopCall("CANCELLED", "cancelled by you");
    }
  });
  $("call").addEventListener("click", call);
  $("send").addEventListener("click", sendMessage);
  $("half-close").addEventListener("click", halfClose);
  $("cancel").addEventListener("click", () => stopCall("CANCELLED", "cancelled by you"));
  $("add-metadata").addEventListener("click", () => addMetadataRow().querySelector("input").focus());
  $("copy-grpcx").addEventListener("click", () => copy(copyGrpcx));
  $("copy-curl").addEventListener("click", () => copy(copyCurl));
  $("copy-grpcurl").addEventListener("click", () => copy(copyGrpcurl));
  $("clear-history").addEventListener("click", () => { localStorage.removeItem(HISTORY_KEY); renderHistory(); });
  window.addEventListener("hashchange", () => {
    const fromUrl = readUrl();
    if (fromUrl.method && (!state.method || fromUrl.method !== state.method.fullName)) select(fromUrl.method, fromUrl.request);
  });

  addMetadataRow();
  load().catch((error) => { $("loading").textContent = "Cannot read the schema: " + error.message; });
})();
