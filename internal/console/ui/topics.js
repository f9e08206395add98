// Topics: the list and create form, one topic's partitions and configs
// (alter, delete), and the message browser.
import { h, replace, table, field, bytes, num, time, toast } from './dom.js';
import { api, get, enc } from './api.js';

export function topics(root, { query, navigate }) {
  const showInternal = h('input', { type: 'checkbox', id: 'show-internal', checked: query.get('internal') === 'true' });
  showInternal.addEventListener('change', () => navigate('#/topics' + (showInternal.checked ? '?internal=true' : ''), true));
  const name = h('input', { id: 'new-topic-name', required: true, pattern: '[a-zA-Z0-9._\\-]{1,249}', autocomplete: 'off' });
  const parts = h('input', { id: 'new-topic-partitions', type: 'number', min: 1, max: 10000, value: '3', required: true });
  const rf = h('input', { id: 'new-topic-rf', type: 'number', min: 1, max: 32767, value: '1', required: true });
  const cfg = h('input', { id: 'new-topic-configs', placeholder: 'retention.ms=86400000, cleanup.policy=compact', size: 40 });
  const form = h('form', { class: 'inline', id: 'create-topic', 'aria-labelledby': 'h-create' },
    field('Name', name), field('Partitions', parts), field('Replication factor', rf),
    field('Configs (name=value, comma separated; optional)', cfg),
    h('button', { type: 'submit' }, 'Create topic'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const configs = {};
    for (const kv of cfg.value.split(',').map(s => s.trim()).filter(Boolean)) {
      const i = kv.indexOf('=');
      if (i <= 0) { toast('Config "' + kv + '" is not name=value', true); return; }
      configs[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    try {
      const r = await api('POST', '/topics', { name: name.value, partitions: +parts.value, replicationFactor: +rf.value, configs });
      toast('Created topic ' + r.name + ' with ' + r.partitions + ' partitions');
      name.value = '';
      navigate('#/topics/' + enc(r.name));
    } catch (err) { toast('Create failed: ' + err.message, true); }
  });
  const list = h('div', {});
  replace(root,
    h('h1', {}, 'Topics'),
    h('section', { class: 'panel' }, h('h2', { id: 'h-create' }, 'Create a topic'), form),
    h('section', { class: 'panel', 'aria-labelledby': 'h-topics' },
      h('h2', { id: 'h-topics' }, 'All topics'),
      h('p', {}, showInternal, ' ', h('label', { for: 'show-internal' }, 'Show internal topics')),
      list));
  return {
    title: 'Topics',
    async refresh() {
      const rows = await get('/topics' + (showInternal.checked ? '?internal=true' : ''));
      replace(list, table('Topics', [
        { label: 'Topic', cell: t => h('a', { href: '#/topics/' + enc(t.name) }, t.name) },
        { label: 'Partitions', num: true, cell: t => num(t.partitions) },
        { label: 'Replication', num: true, cell: t => t.replicationFactor },
        { label: 'Under-replicated', num: true, cell: t => t.underReplicated ? h('span', { class: 'warn' }, t.underReplicated) : '0' },
        { label: 'Offline', num: true, cell: t => t.offline ? h('span', { class: 'error' }, t.offline) : '0' },
        { label: 'Records', num: true, cell: t => num(t.records) },
        { label: 'Size on disk', num: true, cell: t => bytes(t.sizeBytes) },
        { label: '', cell: t => h('a', { href: '#/messages?topic=' + enc(t.name), 'aria-label': 'Browse messages of ' + t.name }, 'Browse') },
      ], rows, { id: 'topics', empty: 'No topics yet.', rowData: t => ({ topic: t.name }) }));
    },
  };
}

export function topic(root, { arg, navigate }) {
  const name = arg;
  const summary = h('div', { class: 'cards' });
  const parts = h('div', {});
  const configs = h('div', {});
  const cfgName = h('input', { id: 'cfg-name', list: 'cfg-names', required: true, autocomplete: 'off' });
  const cfgValue = h('input', { id: 'cfg-value', required: true, autocomplete: 'off' });
  const names = h('datalist', { id: 'cfg-names' });
  const alter = h('form', { class: 'inline', id: 'alter-config' },
    field('Config', cfgName), field('Value', cfgValue), names, h('button', { type: 'submit' }, 'Set config'));
  alter.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', '/topics/' + enc(name) + '/configs', { set: { [cfgName.value]: cfgValue.value } });
      toast('Set ' + cfgName.value + '=' + cfgValue.value);
      cfgValue.value = '';
      await view.refresh();
    } catch (err) { toast('Alter failed: ' + err.message, true); }
  });
  const confirmInput = h('input', { id: 'confirm-delete', autocomplete: 'off' });
  const confirmBox = h('form', { class: 'confirm', hidden: true },
    field('Type the topic name to delete it and all its data', confirmInput), ' ',
    h('button', { type: 'submit', class: 'danger' }, 'Delete ' + name));
  confirmBox.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (confirmInput.value !== name) { toast('The name does not match', true); return; }
    try {
      await api('DELETE', '/topics/' + enc(name));
      toast('Deleted topic ' + name);
      navigate('#/topics');
    } catch (err) { toast('Delete failed: ' + err.message, true); }
  });
  const delBtn = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Delete topic…');
  delBtn.addEventListener('click', () => {
    confirmBox.hidden = !confirmBox.hidden;
    delBtn.setAttribute('aria-expanded', String(!confirmBox.hidden));
    if (!confirmBox.hidden) confirmInput.focus();
  });
  replace(root,
    h('p', {}, h('a', { href: '#/topics' }, '← Topics')),
    h('h1', {}, 'Topic ', h('span', { class: 'mono' }, name)),
    summary,
    h('p', {}, h('a', { href: '#/messages?topic=' + enc(name) }, 'Browse messages'), ' ', delBtn), confirmBox,
    h('section', { class: 'panel', 'aria-labelledby': 'h-parts' }, h('h2', { id: 'h-parts' }, 'Partitions'), parts),
    h('section', { class: 'panel', 'aria-labelledby': 'h-cfg' }, h('h2', { id: 'h-cfg' }, 'Configuration'), alter, configs));
  const view = {
    title: 'Topic ' + name,
    async refresh() {
      const t = await get('/topics/' + enc(name));
      replace(summary,
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Partitions'), h('div', { class: 'value' }, t.partitions.length)),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Records'), h('div', { class: 'value', id: 'topic-records' }, num(t.records))),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Size (leaders)'), h('div', { class: 'value' }, bytes(t.sizeBytes))),
        h('div', { class: 'card' }, h('div', { class: 'label' }, 'Topic id'), h('div', { class: 'value id' }, t.id)));
      replace(parts, table('Partitions', [
        { label: 'Partition', num: true, cell: p => p.partition },
        { label: 'Leader', num: true, cell: p => p.leader < 0 ? h('span', { class: 'error' }, 'none') : p.leader },
        { label: 'Epoch', num: true, cell: p => p.leaderEpoch },
        { label: 'Replicas', cell: p => p.replicas.join(', ') },
        { label: 'In-sync replicas', cell: p => p.isr.length < p.replicas.length ? h('span', { class: 'warn' }, p.isr.join(', ')) : p.isr.join(', ') },
        { label: 'Start offset', num: true, cell: p => num(p.startOffset) },
        { label: 'End offset', num: true, cell: p => num(p.endOffset) },
        { label: 'Size', num: true, cell: p => bytes(p.sizeBytes) },
        { label: '', cell: p => h('a', { href: '#/messages?topic=' + enc(name) + '&partition=' + p.partition, 'aria-label': 'Browse partition ' + p.partition }, 'Browse') },
      ], t.partitions, { id: 'partitions' }));
      replace(names, t.configs.map(c => h('option', { value: c.name })));
      replace(configs, table('Configuration', [
        { label: 'Name', cls: 'mono', cell: c => c.name },
        { label: 'Value', cls: 'mono', cell: c => c.sensitive ? '(hidden)' : (c.value ?? '–') },
        { label: 'Source', cell: c => c.source },
        { label: '', cell: c => c.source !== 'topic' ? '' : h('button', { type: 'button', class: 'secondary', 'aria-label': 'Reset ' + c.name + ' to its default',
          onclick: async () => {
            try { await api('PATCH', '/topics/' + enc(name) + '/configs', { delete: [c.name] }); toast('Reset ' + c.name); await view.refresh(); }
            catch (err) { toast('Reset failed: ' + err.message, true); }
          } }, 'Reset') },
      ], t.configs, { id: 'configs', rowClass: c => c.source === 'topic' ? 'nondefault' : null }));
    },
  };
  return view;
}

// render shows a key, value or header value as text, JSON or hex.
function render(p, format) {
  if (!p || p.null) return h('span', { class: 'muted' }, 'null');
  if (format === 'hex' || p.text === undefined) {
    const bin = atob(p.base64);
    let out = '';
    for (let i = 0; i < bin.length && i < 4096; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0') + (i % 16 === 15 ? '\n' : ' ');
    if (bin.length > 4096) out += '… (' + bin.length + ' bytes)';
    return out.trimEnd();
  }
  if (format === 'json') {
    try { return JSON.stringify(JSON.parse(p.text), null, 2); } catch (e) { return p.text; }
  }
  return p.text;
}

export function messages(root, { query, navigate }) {
  const topicSel = h('select', { id: 'msg-topic', required: true });
  const partition = h('input', { id: 'msg-partition', type: 'number', min: 0, value: query.get('partition') || '0' });
  const startMode = h('select', { id: 'msg-start' },
    h('option', { value: 'beginning' }, 'from the beginning'),
    h('option', { value: 'end' }, 'the latest'),
    h('option', { value: 'offset' }, 'from offset'),
    h('option', { value: 'timestamp' }, 'from time (UTC)'));
  const offset = h('input', { id: 'msg-offset', type: 'number', min: 0, value: query.get('offset') || '' });
  const ts = h('input', { id: 'msg-time', type: 'datetime-local', step: 1 });
  const limit = h('input', { id: 'msg-limit', type: 'number', min: 1, max: 100, value: query.get('limit') || '20' });
  const format = h('select', { id: 'msg-format' },
    h('option', { value: 'text' }, 'text'), h('option', { value: 'json' }, 'JSON'), h('option', { value: 'hex' }, 'hex'));
  const follow = h('input', { id: 'msg-follow', type: 'checkbox' });
  const offsetField = field('Offset', offset);
  const timeField = field('Time', ts);
  const mode = query.has('offset') ? 'offset' : query.has('timestamp') ? 'timestamp' : (query.get('from') || 'beginning');
  startMode.value = mode;
  if (query.has('timestamp')) ts.value = new Date(+query.get('timestamp')).toISOString().slice(0, 19);
  if (query.get('format')) format.value = query.get('format');
  const showFields = () => { offsetField.hidden = startMode.value !== 'offset'; timeField.hidden = startMode.value !== 'timestamp'; };
  startMode.addEventListener('change', showFields);
  showFields();
  const form = h('form', { class: 'inline', id: 'browse' },
    field('Topic', topicSel), field('Partition', partition), field('Show', startMode), offsetField, timeField,
    field('At most', limit), field('Format', format),
    h('button', { type: 'submit' }, 'Show messages'),
    h('span', {}, follow, ' ', h('label', { for: 'msg-follow' }, 'Follow new messages')));
  const info = h('p', { id: 'msg-info', class: 'muted', 'aria-live': 'polite' });
  const results = h('div', { id: 'msg-results' });
  format.addEventListener('change', () => draw());
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ topic: topicSel.value, partition: partition.value, limit: limit.value });
    if (startMode.value === 'offset') q.set('offset', offset.value || '0');
    else if (startMode.value === 'timestamp') q.set('timestamp', String(Date.parse(ts.value + 'Z') || 0));
    else q.set('from', startMode.value);
    if (format.value !== 'text') q.set('format', format.value);
    navigate('#/messages?' + q.toString(), false);
  });
  replace(root, h('h1', {}, 'Messages'), h('section', { class: 'panel' }, form), info, results);

  let last = null;
  function draw() {
    if (!last) return;
    const f = format.value;
    replace(info, 'Partition ', last.partition, ' of ', last.topic, ': offsets ', num(last.startOffset), ' to ', num(last.endOffset - 1),
      '; showing ', last.records.length, ' from offset ', num(last.from), ' (', bytes(last.bytes), ' read).');
    replace(results, table('Messages', [
      { label: 'Offset', num: true, cell: m => m.offset },
      { label: 'Timestamp', cell: m => time(m.timestamp) },
      { label: 'Key', cls: 'payload mono', cell: m => render(m.key, f) },
      { label: 'Value', cls: 'payload mono', cell: m => render(m.value, f) },
      { label: 'Headers', cls: 'payload mono', cell: m => m.headers.length === 0 ? '–' : m.headers.map(hd => h('div', {}, hd.key + ': ', render(hd.value, f === 'json' ? 'text' : f))) },
    ], last.records, { id: 'messages', empty: 'No messages here.', rowData: m => ({ offset: m.offset }) }));
  }

  let topicsLoaded = false;
  return {
    title: 'Messages',
    async refresh() {
      if (!topicsLoaded) {
        const ts = await get('/topics?internal=true');
        replace(topicSel, ts.map(t => h('option', { value: t.name }, t.name)));
        if (query.get('topic')) topicSel.value = query.get('topic');
        topicsLoaded = true;
      }
      if (!query.get('topic')) { replace(info, 'Pick a topic and where to start.'); return; }
      if (last && !follow.checked) return; // a result stays until asked again
      const q = new URLSearchParams({ partition: query.get('partition') || '0', limit: query.get('limit') || '20' });
      if (follow.checked) q.set('from', 'end');
      else for (const k of ['offset', 'timestamp', 'from']) if (query.has(k)) q.set(k, query.get(k));
      last = await get('/topics/' + enc(query.get('topic')) + '/messages?' + q.toString());
      draw();
    },
  };
}
