// ACLs and SCRAM users: the lists, a form to add an ACL and one to create
// or update a user's credential, and deletion of either (press Delete,
// then Confirm). What the signed-in user may do is the broker's call: a
// refusal is shown under the form that was sent.
import { h, replace, table, field } from './dom.js';
import { api, get, enc } from './api.js';

// The operations each resource type takes (kafka-acls.sh's list; the
// server checks the same).
const OPS = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'ALL'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE', 'ALL'],
  CLUSTER: ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER', 'DESCRIBE', 'ALL'],
  TRANSACTIONAL_ID: ['DESCRIBE', 'WRITE', 'ALL'],
  DELEGATION_TOKEN: ['DESCRIBE', 'ALL'],
  USER: ['CREATE_TOKENS', 'DESCRIBE_TOKENS', 'ALL'],
};

function select(id, values, value) {
  return h('select', { id }, values.map(v => h('option', { value: v, selected: v === value }, v)));
}

// outcome is the line under a form: what happened, or the refusal.
function outcome(id) {
  return h('p', { id, class: 'outcome', 'aria-live': 'polite' });
}
function said(el, msg, isError) {
  el.className = 'outcome' + (isError ? ' error' : ' ok');
  el.setAttribute('role', isError ? 'alert' : 'status');
  el.textContent = msg;
}

async function optional(path) {
  try { return { rows: await get(path) }; } catch (e) { return { rows: [], err: e.message }; }
}

// confirmButton deletes on a second press within six seconds; pending
// keeps that state across the list's refreshes.
function confirmButton(key, label, pending, run) {
  const armed = pending.has(key);
  const b = h('button', { type: 'button', class: armed ? 'danger' : 'secondary', 'aria-label': (armed ? 'Confirm: delete ' : 'Delete ') + label },
    armed ? 'Confirm delete' : 'Delete');
  b.addEventListener('click', async () => {
    if (!pending.has(key)) {
      pending.add(key);
      b.className = 'danger';
      b.textContent = 'Confirm delete';
      b.setAttribute('aria-label', 'Confirm: delete ' + label);
      setTimeout(() => {
        if (pending.delete(key) && b.isConnected) {
          b.className = 'secondary'; b.textContent = 'Delete'; b.setAttribute('aria-label', 'Delete ' + label);
        }
      }, 6000);
      return;
    }
    pending.delete(key);
    b.disabled = true;
    try { await run(); } finally { b.disabled = false; }
  });
  return b;
}

export function security(root) {
  const pending = new Set();
  let shownACLs = null, shownUsers = null; // the JSON last drawn

  // Add an ACL.
  const principal = h('input', { id: 'acl-principal', required: true, autocomplete: 'off', placeholder: 'User:alice', size: 16 });
  const host = h('input', { id: 'acl-host', required: true, autocomplete: 'off', value: '*', size: 10 });
  const rtype = select('acl-type', Object.keys(OPS), 'TOPIC');
  const resource = h('input', { id: 'acl-resource', required: true, autocomplete: 'off', placeholder: 'orders, or * for all', size: 16 });
  const pattern = select('acl-pattern', ['LITERAL', 'PREFIXED'], 'LITERAL');
  const operation = select('acl-operation', OPS.TOPIC, 'READ');
  const permission = select('acl-permission', ['ALLOW', 'DENY'], 'ALLOW');
  const aclOut = outcome('acl-outcome');
  rtype.addEventListener('change', () => {
    const keep = operation.value;
    replace(operation, OPS[rtype.value].map(v => h('option', { value: v, selected: v === keep }, v)));
    const cluster = rtype.value === 'CLUSTER';
    resource.readOnly = cluster;
    pattern.disabled = cluster;
    if (cluster) { resource.value = 'kafka-cluster'; pattern.value = 'LITERAL'; }
    else if (resource.value === 'kafka-cluster') resource.value = '';
  });
  const aclForm = h('form', { class: 'inline', id: 'create-acl', 'aria-labelledby': 'h-add-acl' },
    field('Principal', principal), field('Host', host), field('Resource type', rtype), field('Resource name', resource),
    field('Pattern', pattern), field('Operation', operation), field('Permission', permission),
    h('button', { type: 'submit' }, 'Add ACL'));
  aclForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { principal: principal.value.trim(), host: host.value.trim(), resourceType: rtype.value,
      resource: resource.value.trim(), pattern: pattern.value, operation: operation.value, permission: permission.value };
    try {
      const a = await api('POST', '/acls', body);
      said(aclOut, 'Added: ' + describe(a));
      await view.refresh();
    } catch (err) { said(aclOut, 'Not added: ' + err.message, true); }
  });

  // Create or update a SCRAM user.
  const user = h('input', { id: 'user-name', required: true, autocomplete: 'off', size: 16 });
  const mech = select('user-mechanism', ['SCRAM-SHA-256', 'SCRAM-SHA-512'], 'SCRAM-SHA-256');
  const iter = h('input', { id: 'user-iterations', type: 'number', min: 4096, max: 16384, value: '8192', required: true });
  const pass = h('input', { id: 'user-password', type: 'password', required: true, autocomplete: 'new-password', size: 16 });
  const userOut = outcome('user-outcome');
  const userForm = h('form', { class: 'inline', id: 'upsert-user', 'aria-labelledby': 'h-add-user' },
    field('User', user), field('Mechanism', mech), field('Iterations', iter), field('Password', pass),
    h('button', { type: 'submit' }, 'Save user'));
  userForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { user: user.value, mechanism: mech.value, iterations: +iter.value, password: pass.value };
    pass.value = ''; // never kept in the page
    try {
      const u = await api('POST', '/users', body);
      said(userOut, 'Saved the ' + u.mechanism + ' credential of ' + u.user + ' (' + u.iterations + ' iterations)');
      await view.refresh();
    } catch (err) { said(userOut, 'Not saved: ' + err.message, true); }
  });

  const acls = h('div', {});
  const users = h('div', {});
  replace(root,
    h('h1', {}, 'ACLs and users'),
    h('section', { class: 'panel', 'aria-labelledby': 'h-acls' }, h('h2', { id: 'h-acls' }, 'ACLs'),
      h('h3', { id: 'h-add-acl' }, 'Add an ACL'), aclForm, aclOut, acls),
    h('section', { class: 'panel', 'aria-labelledby': 'h-users' }, h('h2', { id: 'h-users' }, 'SCRAM users'),
      h('h3', { id: 'h-add-user' }, 'Create a user or set a password'), userForm, userOut, users));

  const view = {
    title: 'ACLs and users',
    async refresh() {
      const [a, u] = await Promise.all([optional('/acls'), optional('/users')]);
      // Redrawn only when something changed, so focus and a pending
      // Delete survive the two-second refresh.
      const aj = JSON.stringify(a), uj = JSON.stringify(u);
      if (aj !== shownACLs) {
        shownACLs = aj;
        replace(acls, a.err ? h('p', { class: 'muted' }, 'Not available: ' + a.err) : table('ACLs', [
          { label: 'Principal', cell: r => r.principal },
          { label: 'Host', cell: r => r.host },
          { label: 'Resource', cell: r => r.resourceType + ' ' + r.resource },
          { label: 'Pattern', cell: r => r.pattern },
          { label: 'Operation', cell: r => r.operation },
          { label: 'Permission', cell: r => r.permission },
          { label: '', cell: r => confirmButton('acl ' + JSON.stringify(r), 'ACL ' + describe(r), pending, async () => {
            try {
              await api('DELETE', '/acls', r);
              said(aclOut, 'Deleted: ' + describe(r));
              await view.refresh();
            } catch (err) { said(aclOut, 'Not deleted: ' + err.message, true); }
          }) },
        ], a.rows, { id: 'acls', empty: 'No ACLs.', rowData: r => ({ principal: r.principal, resource: r.resource }) }));
      }
      if (uj !== shownUsers) {
        shownUsers = uj;
        const rows = [];
        for (const r of u.rows) for (const c of r.credentials) rows.push({ user: r.user, ...c });
        replace(users, u.err ? h('p', { class: 'muted' }, 'Not available: ' + u.err) : table('Users', [
          { label: 'User', cell: r => r.user },
          { label: 'Mechanism', cell: r => r.mechanism },
          { label: 'Iterations', num: true, cell: r => r.iterations },
          { label: '', cell: r => confirmButton('user ' + r.user + ' ' + r.mechanism, r.mechanism + ' credential of ' + r.user, pending, async () => {
            try {
              await api('DELETE', '/users/' + enc(r.user) + '?mechanism=' + enc(r.mechanism));
              said(userOut, 'Deleted the ' + r.mechanism + ' credential of ' + r.user);
              await view.refresh();
            } catch (err) { said(userOut, 'Not deleted: ' + err.message, true); }
          }) },
        ], rows, { id: 'users', empty: 'No SCRAM users.', rowData: r => ({ user: r.user }) }));
      }
    },
  };
  return view;
}

function describe(a) {
  return a.permission + ' ' + a.principal + ' from ' + a.host + ' ' + a.operation + ' on ' + a.resourceType + ' ' +
    a.resource + (a.pattern === 'PREFIXED' ? ' (prefix)' : '');
}
