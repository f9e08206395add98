// The console's router: the hash names a view (#/topics/orders,
// #/messages?topic=orders&partition=0&offset=42); the view builds its page
// once and its refresh() updates the data, every two seconds, so pages stay
// current without a reload.
import { h, replace } from './dom.js';
import { get } from './api.js';
import { overview, security, transactions } from './cluster.js';
import { topics, topic, messages } from './topics.js';
import { groups, group } from './groups.js';

const POLL_MS = 2000;

const routes = [
  [/^\/?$/, 'overview', () => overview],
  [/^\/topics$/, 'topics', () => topics],
  [/^\/topics\/(.+)$/, 'topics', () => topic],
  [/^\/messages$/, 'messages', () => messages],
  [/^\/groups$/, 'groups', () => groups],
  [/^\/groups\/(.+)$/, 'groups', () => group],
  [/^\/security$/, 'security', () => security],
  [/^\/transactions$/, 'transactions', () => transactions],
];

let current = null; // {view, busy, gen}
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || '') };
}

async function route() {
  const { path, query } = parseHash();
  const main = document.getElementById('main');
  const gen = ++generation;
  let found = null;
  for (const [re, nav, view] of routes) {
    const m = path.match(re);
    if (m) { found = { nav, make: view(), arg: m[1] ? decodeURIComponent(m[1]) : null }; break; }
  }
  for (const a of document.querySelectorAll('nav a')) {
    if (found && a.dataset.nav === found.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!found) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ' + path + '. ', h('a', { href: '#/' }, 'Go to the overview.')));
    current = null;
    return;
  }
  const errBox = h('div', { class: 'error', role: 'alert', id: 'view-error' });
  const body = h('div', {});
  replace(main, errBox, body);
  const view = found.make(body, { arg: found.arg, query, navigate });
  document.title = view.title + ' · Samsa console';
  current = { view, busy: false, gen, errBox };
  await refresh();
  if (gen === generation && main.dataset.focus !== 'keep') main.focus({ preventScroll: true });
}

// navigate changes the hash without adding history noise when asked.
export function navigate(hash, replaceState) {
  if (replaceState) { history.replaceState(null, '', hash); route(); }
  else location.hash = hash;
}

async function refresh() {
  const cur = current;
  if (!cur || cur.busy || !cur.view.refresh) return;
  cur.busy = true;
  try {
    await cur.view.refresh();
    if (cur.gen === generation) {
      replace(cur.errBox);
      document.getElementById('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    }
  } catch (e) {
    if (cur.gen === generation) replace(cur.errBox, h('p', {}, 'Could not load: ' + e.message));
  } finally {
    cur.busy = false;
  }
}

async function whoami() {
  try {
    const s = await get('/session');
    document.getElementById('who').textContent =
      (s.user ? 'Signed in as ' + s.user + ' · ' : '') + 'node ' + s.nodeId + ' · ' + s.version;
  } catch (e) { /* the view shows the error */ }
}

window.addEventListener('hashchange', route);
setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
whoami();
route();
