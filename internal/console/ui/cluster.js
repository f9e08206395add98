// Overview (brokers, controller, disks, versions), ACLs and users,
// transactions.
import { h, replace, table, card, bytes, num, time } from './dom.js';
import { get } from './api.js';

export function overview(root) {
  const cards = h('div', { class: 'cards', id: 'cluster-cards' });
  const brokers = h('div', {});
  const dirs = h('div', {});
  replace(root,
    h('h1', {}, 'Cluster overview'),
    cards,
    h('section', { class: 'panel', 'aria-labelledby': 'h-brokers' }, h('h2', { id: 'h-brokers' }, 'Brokers'), brokers),
    h('section', { class: 'panel', 'aria-labelledby': 'h-dirs' }, h('h2', { id: 'h-dirs' }, 'Log directories'), dirs));
  return {
    title: 'Overview',
    async refresh() {
      const c = await get('/cluster');
      replace(cards,
        card('Cluster id', c.clusterId, 'cluster-id', 'id'),
        card('Controller', 'node ' + c.controller, 'controller'),
        card('Brokers', num(c.brokers.length), 'broker-count'),
        card('Topics', num(c.topics), 'topic-count'),
        card('Partitions', num(c.partitions), 'partition-count'),
        card('Version', c.version, 'version'));
      replace(brokers, table('Brokers', [
        { label: 'Node', num: true, cell: b => b.id },
        { label: 'Address', cls: 'mono', cell: b => b.host + ':' + b.port },
        { label: 'Rack', cell: b => b.rack || '–' },
        { label: 'Role', cell: b => b.controller ? 'broker, active controller' : 'broker' },
        { label: 'Kafka APIs', num: true, cell: b => b.apis || '–' },
        { label: 'Version', cell: b => b.version || '–' },
        { label: 'Status', cell: b => b.error ? h('span', { class: 'error' }, b.error) : h('span', { class: 'ok' }, 'up') },
      ], c.brokers, { id: 'brokers' }));
      replace(dirs, table('Log directories', [
        { label: 'Node', num: true, cell: d => d.broker },
        { label: 'Directory', cls: 'mono', cell: d => d.dir },
        { label: 'Partitions', num: true, cell: d => num(d.partitions) },
        { label: 'Data', num: true, cell: d => bytes(d.sizeBytes) },
        { label: 'Disk used', cell: d => {
          if (!(d.totalBytes > 0)) return '–';
          const used = d.totalBytes - d.usableBytes;
          const pct = Math.round(100 * used / d.totalBytes);
          return h('span', {}, h('meter', { min: 0, max: d.totalBytes, value: used, high: d.totalBytes * 0.85, 'aria-label': 'disk used ' + pct + '%' }), ' ', pct + '%');
        } },
        { label: 'Free', num: true, cell: d => bytes(d.usableBytes) },
        { label: 'Size', num: true, cell: d => bytes(d.totalBytes) },
        { label: 'Status', cell: d => d.error ? h('span', { class: 'error' }, d.error) : h('span', { class: 'ok' }, 'online') },
      ], c.logDirs, { id: 'logdirs' }));
    },
  };
}

// optional loads a list that the broker may refuse (no authorizer, no
// permission) and shows why instead of failing the page.
async function optional(path) {
  try { return { rows: await get(path) }; } catch (e) { return { rows: [], err: e.message }; }
}

export { security } from './security.js';

export function transactions(root) {
  const list = h('div', {});
  replace(root, h('h1', {}, 'Transactions'), h('section', { class: 'panel' }, list));
  return {
    title: 'Transactions',
    async refresh() {
      const t = await optional('/transactions');
      replace(list, t.err ? h('p', { class: 'muted' }, 'Not available: ' + t.err) : table('Transactions', [
        { label: 'Transactional id', cell: r => r.id },
        { label: 'State', cell: r => h('span', { class: 'badge' }, r.state) },
        { label: 'Producer id', num: true, cell: r => r.producerId },
        { label: 'Epoch', num: true, cell: r => r.epoch },
        { label: 'Timeout', num: true, cell: r => r.timeoutMs + ' ms' },
        { label: 'Started', cell: r => time(r.startMs) },
        { label: 'Partitions', cell: r => r.partitions.join(', ') || '–' },
      ], t.rows, { id: 'transactions', empty: 'No transactional ids.' }));
    },
  };
}
