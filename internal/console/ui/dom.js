// Small DOM helpers. Text always goes in as text nodes, never as HTML, so
// data from the broker (topic names, record values) cannot inject markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// svg makes an SVG element.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  append(el, children);
  return el;
}

// replace swaps el's children for the given ones.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// table builds a table: cols are {label, num, cell(row) -> node|text}.
export function table(caption, cols, rows, opts = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { id: opts.id },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, cols.map(c => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.length === 0
        ? h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, opts.empty || 'None.'))
        : rows.map(r => h('tr', { class: opts.rowClass ? opts.rowClass(r) : null, dataset: opts.rowData ? opts.rowData(r) : null },
            cols.map(c => h('td', { class: c.num ? 'num' : (c.cls || null) }, c.cell(r))))))));
}

export function field(label, input) {
  const id = input.id || ('f-' + Math.random().toString(36).slice(2));
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

export function card(label, value, id, cls) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' + (cls ? ' ' + cls : ''), id }, value));
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function bytes(n) {
  if (n === undefined || n === null || n < 0) return '–';
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

export function num(n) {
  if (n === undefined || n === null || n < 0) return '–';
  return n.toLocaleString('en-US');
}

export function time(ms) {
  if (ms === undefined || ms < 0) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

// toast shows a short message in the live region.
export function toast(msg, isError) {
  const t = document.getElementById('toast');
  const p = h('p', { class: isError ? 'error' : null, role: isError ? 'alert' : null }, msg);
  t.appendChild(p);
  setTimeout(() => p.remove(), isError ? 9000 : 5000);
}
