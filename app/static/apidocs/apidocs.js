// Minyi API reference: renders the OpenAPI document linked from #apidocs[data-spec].
// Written for this project (no third-party code, no CDN): the page runs under script-src 'self'.
// Only DOM text nodes are created from the document, never HTML, so nothing in it can inject markup.
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function resolve(spec, schema) {
    var seen = 0;
    while (schema && schema.$ref && seen < 20) {
      var path = schema.$ref.replace(/^#\//, "").split("/");
      schema = path.reduce(function (obj, key) { return obj ? obj[key] : undefined; }, spec);
      seen += 1;
    }
    return schema || {};
  }

  function refName(schema) {
    return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
  }

  function typeOf(spec, schema) {
    var name = refName(schema);
    if (name) return name;
    schema = resolve(spec, schema);
    if (schema.type === "array") return typeOf(spec, schema.items || {}) + "[]";
    var type = schema.type || "object";
    if (schema.enum) type += " (" + schema.enum.join(" | ") + ")";
    if (schema.nullable) type += " | null";
    return type;
  }

  function schemaTable(spec, schema) {
    schema = resolve(spec, schema);
    if (schema.type === "array") schema = resolve(spec, schema.items || {});
    var properties = schema.properties || {};
    var required = schema.required || [];
    var names = Object.keys(properties);
    if (!names.length) return null;
    var rows = names.map(function (name) {
      var prop = properties[name];
      var resolved = resolve(spec, prop);
      return el("tr", {}, [
        el("td", {}, [el("code", {}, [name]), required.indexOf(name) >= 0 ? " *" : ""]),
        el("td", {}, [typeOf(spec, prop)]),
        el("td", {}, [resolved.description || prop.description || ""])
      ]);
    });
    return el("table", {}, [
      el("thead", {}, [el("tr", {}, [el("th", {}, ["field"]), el("th", {}, ["type"]), el("th", {}, ["description"])])]),
      el("tbody", {}, rows)
    ]);
  }

  function parameters(spec, op) {
    var params = op.parameters || [];
    if (!params.length) return null;
    return el("table", {}, [
      el("thead", {}, [el("tr", {}, [el("th", {}, ["parameter"]), el("th", {}, ["in"]), el("th", {}, ["type"]), el("th", {}, ["description"])])]),
      el("tbody", {}, params.map(function (p) {
        p = resolve(spec, p);
        return el("tr", {}, [
          el("td", {}, [el("code", {}, [p.name]), p.required ? " *" : ""]),
          el("td", {}, [p.in]),
          el("td", {}, [typeOf(spec, p.schema || {})]),
          el("td", {}, [p.description || (p.schema && p.schema.description) || ""])
        ]);
      }))
    ]);
  }

  function responses(spec, op) {
    var codes = Object.keys(op.responses || {});
    return el("div", {}, codes.map(function (code) {
      var response = resolve(spec, op.responses[code]);
      var content = response.content && response.content["application/json"];
      var schema = content && content.schema;
      var name = schema ? typeOf(spec, schema) : "";
      return el("details", {}, [
        el("summary", {}, [el("strong", {}, [code]), " ", response.description || "", name ? " — " + name : ""]),
        schema ? schemaTable(spec, schema) : null
      ]);
    }));
  }

  function operation(spec, path, method, op) {
    var scopes = op["x-required-scopes"];
    return el("section", { "class": "op", id: (op.operationId || method + path).replace(/[^A-Za-z0-9_-]/g, "_") }, [
      el("h3", {}, [el("span", { "class": "method " + method }, [method.toUpperCase()]), " ", el("code", {}, [path])]),
      el("p", {}, [op.summary || ""]),
      op.description ? el("p", { "class": "description" }, [op.description]) : null,
      scopes ? el("p", {}, ["Token scopes: ", scopes.length ? scopes.join(", ") : "any valid token"]) :
        el("p", {}, ["No token needed."]),
      parameters(spec, op),
      op.requestBody ? el("div", {}, [el("h4", {}, ["Request body"]),
        schemaTable(spec, ((op.requestBody.content || {})["application/json"] || {}).schema || {})]) : null,
      el("h4", {}, ["Responses"]),
      responses(spec, op)
    ]);
  }

  function render(root, spec) {
    var info = spec.info || {};
    root.replaceChildren(
      el("h1", {}, [(info.title || "API") + " " + (info.version || "")]),
      el("p", {}, [info.description || ""]),
      el("p", {}, ["Machine-readable: ", el("a", { href: root.getAttribute("data-spec") }, ["openapi.json"])])
    );
    var byTag = {};
    Object.keys(spec.paths || {}).sort().forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        if (["get", "post", "put", "patch", "delete"].indexOf(method) < 0) return;
        var op = spec.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "other";
        (byTag[tag] = byTag[tag] || []).push(operation(spec, path, method, op));
      });
    });
    var tags = {};
    (spec.tags || []).forEach(function (t) { tags[t.name] = t.description || ""; });
    Object.keys(byTag).forEach(function (tag) {
      root.appendChild(el("h2", {}, [tag]));
      if (tags[tag]) root.appendChild(el("p", {}, [tags[tag]]));
      byTag[tag].forEach(function (node) { root.appendChild(node); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("apidocs");
    if (!root) return;
    fetch(root.getAttribute("data-spec"), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (spec) { render(root, spec); })
      .catch(function (error) {
        root.appendChild(el("p", { "class": "error" }, ["Could not load the API document: " + error.message]));
      });
  });
})();
