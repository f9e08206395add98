// Consumer groups: the list, and one group's members, assignments, offsets,
// a live lag chart and the offset reset form.
import { h, svg, replace, table, field, num, toast } from './dom.js';
import { api, get, enc } from './api.js';

const HISTORY = 150; // points kept per group: five minutes at one per 2 s
const histories = new Map(); // group -> [{t, lag}]

function remember(group, lag) {
  let hs = histories.get(group);
  if (!hs) histories.set(group, hs = []);
  hs.push({ t: Date.now(), lag });
  if (hs.length > HISTORY) hs.splice(0, hs.length - HISTORY);
  return hs;
}

export function groups(root) {
  const list = h('div', {});
  replace(root, h('h1', {}, 'Consumer groups'), h('section', { class: 'panel' }, list));
  return {
    title: 'Consumer groups',
    async refresh() {
      const rows = await get('/groups');
      for (const g of rows) if (g.lag >= 0) remember(g.group, g.lag);
      replace(list, table('Consumer groups', [
        { label: 'Group', cell: g => h('a', { href: '#/groups/' + enc(g.group) }, g.group) },
        { label: 'State', cell: g => h('span', { class: 'badge ' + g.state }, g.state || '–') },
        { label: 'Protocol', cell: g => g.protocolType || '–' },
        { label: 'Members', num: true, cell: g => g.members },
        { label: 'Lag', num: true, cell: g => num(g.lag) },
        { label: 'Coordinator', num: true, cell: g => g.coordinator },
      ], rows, { id: 'groups', empty: 'No consumer groups.', rowData: g => ({ group: g.group }) }));
    },
  };
}

// chart draws the lag history as an SVG line with its axes.
function chart(hs) {
  const W = 800, H = 220, L = 64, R = 12, T = 12, B = 28;
  const max = Math.max(1, ...hs.map(p => p.lag));
  const t0 = hs.length ? hs[0].t : 0, t1 = hs.length ? hs[hs.length - 1].t : 1;
  const x = t => L + (t1 === t0 ? (W - L - R) : (t - t0) / (t1 - t0) * (W - L - R));
  const y = v => T + (1 - v / max) * (H - T - B);
  const now = hs.length ? hs[hs.length - 1].lag : 0;
  const label = hs.length ? `Lag over the last ${Math.round((t1 - t0) / 1000)} seconds: now ${now.toLocaleString('en-US')}, highest ${max.toLocaleString('en-US')}` : 'No lag measured yet';
  const el = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label, id: 'lag-chart', 'data-points': hs.length, 'data-now': now });
  for (const f of [0, 0.5, 1]) {
    el.appendChild(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(max * f), y2: y(max * f) }));
    el.appendChild(svg('text', { x: L - 6, y: y(max * f) + 4, 'text-anchor': 'end' }, Math.round(max * f).toLocaleString('en-US')));
  }
  if (hs.length) {
    const pts = hs.map(p => `${x(p.t).toFixed(1)},${y(p.lag).toFixed(1)}`);
    el.appendChild(svg('polygon', { class: 'area', points: `${x(t0)},${y(0)} ${pts.join(' ')} ${x(t1)},${y(0)}` }));
    el.appendChild(svg('polyline', { class: 'line', points: pts.join(' ') }));
    el.appendChild(svg('text', { x: L, y: H - 8 }, new Date(t0).toLocaleTimeString()));
    el.appendChild(svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()));
  }
  return el;
}

export function group(root, { arg }) {
  const name = arg;
  const summary = h('div', { class: 'cards' });
  const chartBox = h('div', {});
  const members = h('div', {});
  const offsets = h('div', {});
  const topicSel = h('select', { id: 'reset-topic' }, h('option', { value: '' }, 'all topics of the group'));
  const to = h('select', { id: 'reset-to' },
    h('option', { value: 'earliest' }, 'earliest'), h('option', { value: 'latest' }, 'latest'),
    h('option', { value: 'offset' }, 'offset'), h('option', { value: 'timestamp' }, 'time (UTC)'));
  const offset = h('input', { id: 'reset-offset', type: 'number', min: 0, value: '0' });
  const ts = h('input', { id: 'reset-time', type: 'datetime-local', step: 1 });
  const offsetField = field('Offset', offset), timeField = field('Time', ts);
  const showFields = () => { offsetField.hidden = to.value !== 'offset'; timeField.hidden = to.value !== 'timestamp'; };
  to.addEventListener('change', showFields);
  showFields();
  const resetBtn = h('button', { type: 'submit', id: 'reset-button' }, 'Reset offsets');
  const resetNote = h('p', { class: 'muted', id: 'reset-note' });
  const form = h('form', { class: 'inline', id: 'reset-offsets' }, field('Topic', topicSel), field('Reset to', to), offsetField, timeField, resetBtn);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { to: to.value };
    if (topicSel.value) body.topic = topicSel.value;
    if (to.value === 'offset') body.offset = +offset.value;
    if (to.value === 'timestamp') body.timestamp = Date.parse(ts.value + 'Z') || 0;
    try {
      const r = await api('POST', '/groups/' + enc(name) + '/reset-offsets', body);
      toast('Reset ' + r.offsets.length + ' partitions of ' + name + ' to ' + to.value);
      await view.refresh();
    } catch (err) { toast('Reset failed: ' + err.message, true); }
  });
  replace(root,
    h('p', {}, h('a', { href: '#/groups' }, '← Consumer groups')),
    h('h1', {}, 'Group ', h('span', { class: 'mono' }, name)),
    summary,
    h('section', { class: 'panel', 'aria-labelledby': 'h-lag' }, h('h2', { id: 'h-lag' }, 'Lag'), chartBox),
    h('div', { class: 'grid2' },
      h('section', { class: 'panel', 'aria-labelledby': 'h-members' }, h('h2', { id: 'h-members' }, 'Members and assignments'), members),
      h('section', { class: 'panel', 'aria-labelledby': 'h-reset' }, h('h2', { id: 'h-reset' }, 'Reset offsets'), resetNote, form)),
    h('section', { class: 'panel', 'aria-labelledby': 'h-offsets' }, h('h2', { id: 'h-offsets' }, 'Committed offsets'), offsets));
  let topicsKnown = '';
  const view = {
    title: 'Group ' + name,
    async refresh() {
      const g = await get('/groups/' + enc(name));
      const hs = remember(name, g.lag);
      replace(summary,
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'State'), h('div', { class: 'value', id: 'group-state' }, g.state)),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Members'), h('div', { class: 'value' }, g.members.length)),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Total lag'), h('div', { class: 'value', id: 'group-lag' }, num(g.lag))),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Assignor'), h('div', { class: 'value' }, g.protocol || '–')),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Coordinator'), h('div', { class: 'value' }, 'node ' + g.coordinator)));
      replace(chartBox, chart(hs));
      replace(members, table('Members', [
        { label: 'Client id', cell: m => m.clientId },
        { label: 'Host', cls: 'mono', cell: m => m.host },
        { label: 'Assigned', cell: m => Object.entries(m.assigned).map(([t, ps]) => h('div', {}, t + ': ' + ps.join(', '))) },
        { label: 'Member id', cls: 'mono', cell: m => m.instanceId || m.memberId },
      ], g.members, { id: 'members', empty: 'No members: nobody consumes now.' }));
      replace(offsets, table('Offsets', [
        { label: 'Topic', cell: o => h('a', { href: '#/topics/' + enc(o.topic) }, o.topic) },
        { label: 'Partition', num: true, cell: o => o.partition },
        { label: 'Committed', num: true, cell: o => o.committed < 0 ? '–' : h('a', { href: '#/messages?topic=' + enc(o.topic) + '&partition=' + o.partition + '&offset=' + o.committed, 'aria-label': 'Messages from committed offset ' + o.committed }, num(o.committed)) },
        { label: 'End', num: true, cell: o => num(o.endOffset) },
        { label: 'Lag', num: true, cell: o => num(o.lag) },
        { label: 'Consumer', cls: 'mono', cell: o => o.memberId || '–' },
      ], g.offsets, { id: 'offsets', empty: 'No committed offsets.' }));
      const ts = [...new Set(g.offsets.map(o => o.topic))].sort();
      if (ts.join('\n') !== topicsKnown) {
        topicsKnown = ts.join('\n');
        const keep = topicSel.value;
        replace(topicSel, h('option', { value: '' }, 'all topics of the group'), ts.map(t => h('option', { value: t }, t)));
        topicSel.value = keep;
      }
      const active = g.members.length > 0;
      resetBtn.disabled = active;
      replace(resetNote, active ? 'Stop the group\'s consumers first: offsets of an active group cannot be reset.' : 'The group is inactive; its offsets can be reset.');
    },
  };
  return view;
}
