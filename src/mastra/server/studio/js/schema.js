// JSON Schema (as msgspec writes it): check a value, make a sample, build a form.
import { h } from "./dom.js";

/** A schema the server sent as a JSON string ("{}" means anything). */
export function parse(text) {
  if (!text) return {};
  return typeof text === "string" ? JSON.parse(text) : text;
}

function resolve(schema, root) {
  let seen = 0;
  while (schema?.$ref && seen++ < 32) {
    const path = schema.$ref.replace(/^#\//, "").split("/");
    schema = path.reduce((node, key) => node?.[key], root);
  }
  return schema || {};
}

const TYPES = {
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  array: Array.isArray,
  string: (v) => typeof v === "string",
  integer: Number.isInteger,
  number: (v) => typeof v === "number" && Number.isFinite(v),
  boolean: (v) => typeof v === "boolean",
  null: (v) => v === null,
};

/** Problems of `value` against `schema`, as "$.path: what was expected" lines ([] when valid). */
export function check(value, schema, root = schema, path = "$") {
  schema = resolve(schema, root);
  const problems = [];
  const say = (text) => problems.push(`${path}: ${text}`);
  for (const key of ["anyOf", "oneOf"]) {
    if (schema[key] && !schema[key].some((s) => check(value, s, root, path).length === 0)) {
      say(`matches none of the ${schema[key].length} allowed shapes`);
      return problems;
    }
  }
  if ("const" in schema && JSON.stringify(value) !== JSON.stringify(schema.const)) say(`must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    say(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (schema.type) {
    const types = [].concat(schema.type);
    if (!types.some((t) => TYPES[t]?.(value))) {
      say(`expected ${types.join(" or ")}, got ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}`);
      return problems;
    }
  }
  if (typeof value === "number") {
    if (schema.minimum != null && value < schema.minimum) say(`must be >= ${schema.minimum}`);
    if (schema.maximum != null && value > schema.maximum) say(`must be <= ${schema.maximum}`);
    if (schema.exclusiveMinimum != null && value <= schema.exclusiveMinimum) say(`must be > ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum != null && value >= schema.exclusiveMaximum) say(`must be < ${schema.exclusiveMaximum}`);
  }
  if (typeof value === "string") {
    if (schema.minLength != null && value.length < schema.minLength) say(`needs at least ${schema.minLength} characters`);
    if (schema.maxLength != null && value.length > schema.maxLength) say(`takes at most ${schema.maxLength} characters`);
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) say(`must match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems != null && value.length < schema.minItems) say(`needs at least ${schema.minItems} items`);
    if (schema.maxItems != null && value.length > schema.maxItems) say(`takes at most ${schema.maxItems} items`);
    (schema.prefixItems || []).forEach((s, i) => { if (i < value.length) problems.push(...check(value[i], s, root, `${path}[${i}]`)); });
    if (schema.items && typeof schema.items === "object") {
      const from = schema.prefixItems?.length || 0;
      value.slice(from).forEach((item, i) => problems.push(...check(item, schema.items, root, `${path}[${i + from}]`)));
    }
  }
  if (TYPES.object(value)) {
    for (const key of schema.required || []) if (!(key in value)) say(`missing required field "${key}"`);
    const props = schema.properties || {};
    for (const [key, item] of Object.entries(value)) {
      if (props[key]) problems.push(...check(item, props[key], root, `${path}.${key}`));
      else if (schema.additionalProperties === false) say(`unexpected field "${key}"`);
      else if (typeof schema.additionalProperties === "object") problems.push(...check(item, schema.additionalProperties, root, `${path}.${key}`));
    }
  }
  return problems;
}

/** A simple value the schema accepts (its default/example first), to prefill an editor. */
export function sample(schema, root = schema, depth = 0) {
  schema = resolve(schema, root);
  if (depth > 8) return null;
  if ("default" in schema) return schema.default;
  if (schema.examples?.length) return schema.examples[0];
  if ("const" in schema) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const options = schema.anyOf || schema.oneOf;
  if (options?.length) return sample(options.find((s) => s.type !== "null") || options[0], root, depth + 1);
  const type = [].concat(schema.type || (schema.properties ? "object" : "any")).find((t) => t !== "null");
  switch (type) {
    case "object": {
      const out = {};
      for (const key of schema.required || Object.keys(schema.properties || {})) {
        if (schema.properties?.[key]) out[key] = sample(schema.properties[key], root, depth + 1);
      }
      return out;
    }
    case "array": return schema.minItems ? [sample(schema.items || {}, root, depth + 1)] : [];
    case "integer": case "number": return schema.minimum ?? 0;
    case "boolean": return false;
    case "string": return "";
    default: return null;
  }
}

/** A form for an object schema (one input per field; JSON for nested values), or one JSON
 * editor for anything else. Returns {el, value(): [value, problems]}. */
export function form(schema, root = schema, idPrefix = "field") {
  const resolved = resolve(schema, root);
  const props = resolved.properties;
  if (!props || resolved.type && resolved.type !== "object") return jsonEditor(schema, root, idPrefix);
  const required = new Set(resolved.required || []);
  const readers = [];
  const fields = Object.entries(props).map(([name, raw]) => {
    const field = resolve(raw, root);
    const type = [].concat(field.type || "any").filter((t) => t !== "null");
    const id = `${idPrefix}-${name}`;
    const label = `${name}${required.has(name) ? " *" : ""}`;
    let input;
    let read;
    if (field.enum) {
      input = h("select", { id, name }, field.enum.map((e) => h("option", { value: JSON.stringify(e) }, String(e))));
      read = () => JSON.parse(input.value);
    } else if (type.length === 1 && type[0] === "boolean") {
      input = h("input", { type: "checkbox", id, name, checked: Boolean(field.default) });
      read = () => input.checked;
    } else if (type.length === 1 && (type[0] === "integer" || type[0] === "number")) {
      input = h("input", { type: "number", id, name, step: type[0] === "integer" ? 1 : "any", value: field.default ?? "" });
      read = () => (input.value === "" ? undefined : Number(input.value));
    } else if (type.length === 1 && type[0] === "string") {
      input = h("input", { type: "text", id, name, value: field.default ?? "" });
      read = () => (input.value === "" && !required.has(name) ? undefined : input.value);
    } else {
      input = h("textarea", { id, name, rows: 3, value: JSON.stringify(sample(field, root), null, 2) });
      read = () => JSON.parse(input.value);
    }
    readers.push([name, read]);
    const text = h("span", null, label, field.description ? ` — ${field.description}` : "");
    if (input.type === "checkbox") return h("label", { class: "field check" }, input, text);
    return h("label", { class: "field" }, text, input);
  });
  return {
    el: h("div", { class: "form" }, fields),
    value() {
      const out = {};
      try {
        for (const [name, read] of readers) {
          const v = read();
          if (v !== undefined) out[name] = v;
        }
      } catch (error) {
        return [undefined, [`invalid JSON: ${error.message}`]];
      }
      return [out, check(out, schema, root)];
    },
  };
}

export function jsonEditor(schema, root = schema, id = "json", initial = undefined) {
  const start = initial === undefined ? sample(schema, root) : initial;
  const area = h("textarea", { id, rows: 5, spellcheck: false, value: JSON.stringify(start, null, 2) });
  return {
    el: area,
    value() {
      let value;
      try {
        value = JSON.parse(area.value);
      } catch (error) {
        return [undefined, [`not valid JSON: ${error.message}`]];
      }
      return [value, check(value, schema, root)];
    },
  };
}
