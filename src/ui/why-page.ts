// The page's "ask why" part: a form with fields (mode, from, to, hairpin, ask the kernel), the
// answer drawn on the macvtap path with the kernel around the guest's port (the macvlan, the lower
// the host stack owns, the switch and its hairpin, the external host), the lost hop in red; the
// kernel's own drop reasons of the live run (forward --kernel-reasons) in a table beside it; and,
// on a page opened without the run's token, a sentence saying the forms cannot be sent, before
// anybody tries.

export const WHY_SECTION = `
<h2>Why can't A reach B? (the macvtap path, asked of the model and, if you like, the kernel)</h2>
<div class="row">
<form id="why">
  <label for="why-mode">macvlan mode</label><select id="why-mode" name="mode">
    <option>vepa</option><option>bridge</option><option>private</option><option>passthru</option><option>source</option>
  </select>
  <label for="why-from">from</label><select id="why-from" name="from">
    <option>a</option><option>b</option><option selected>host</option><option>ext</option></select>
  <label for="why-to">to</label><select id="why-to" name="to">
    <option selected>a</option><option>b</option><option>host</option><option>ext</option></select>
  <label for="why-hairpin">hairpin on the switch</label><input type="checkbox" id="why-hairpin" name="hairpin">
  <label for="why-verify">ask the kernel too</label><input type="checkbox" id="why-verify" name="verify">
  <button type="submit">why?</button>
</form>
<div><svg id="why-topo" width="460" height="330" viewBox="0 0 460 330" role="img" aria-label="why"></svg>
  <div id="why-answer"></div><ul id="why-frames"></ul><ul id="why-kernel"></ul><div id="why-error"></div></div>
</div>
<h2>The kernel's own drop reasons in this run</h2>
<table id="kernel-reasons"><thead><tr><th>port</th><th>reason</th><th>function</th><th>frames</th></tr></thead>
<tbody><tr><td colspan="4">none yet</td></tr></tbody></table>
`;

export const WHY_SCRIPT = `
// The kernel around the run's ports: under each macvtap port its macvlan (mode) on the lower, the
// host stack that owns the lower, and the lower's wire toward the switch and the external host.
const drawPorts = drawTopology;
drawTopology = (report) => {
  drawPorts(report);
  if (!topology || !topology.kernel || topology.kernel.length === 0) return;
  const svg = $('topo');
  svg.setAttribute('height', 360);
  svg.setAttribute('viewBox', '0 30 520 360');
  for (const k of topology.kernel) {
    const g = svg.querySelector('g[data-port="' + CSS.escape(k.port) + '"] rect');
    if (!g) continue;
    const x = Number(g.getAttribute('x')) + 85, y = Number(g.getAttribute('y')) + 60;
    const part = el('g', { 'data-kernel': k.port });
    const node = (cy, w, label, fill) => {
      part.append(el('rect', { x: x - w / 2, y: cy, width: w, height: 26, rx: 4, fill, stroke: '#555' }));
      part.append(el('text', { x, y: cy + 17, 'text-anchor': 'middle', 'font-size': 12 }, label));
    };
    const wire = (y1, y2) => part.append(el('line', { x1: x, y1, x2: x, y2, stroke: '#888', 'stroke-width': 2 }));
    wire(y, y + 20);
    node(y + 20, 190, 'kernel: macvlan (' + k.mode + ')', '#e4e7eb');
    wire(y + 46, y + 120);
    const side = { 'font-size': 11, 'text-anchor': 'end' };
    part.append(el('text', { x: x - 6, y: y + 68, ...side }, 'lower ' + k.lower));
    part.append(el('text', { x: x - 6, y: y + 82, ...side }, '+ the host stack (owns it;'));
    part.append(el('text', { x: x - 6, y: y + 95, ...side }, 'macvlan never sees what it sends)'));
    node(y + 120, 190, 'wire: a switch (hairpin?) or ext', '#fff');
    svg.append(part);
  }
};

if (!token) {
  const note = el('div', { id: 'token-note', class: 'drop' },
    'This page was opened without the run\\'s token: the trace, send and why forms cannot be sent. ' +
    'Open the URL the ui printed (it ends in ?token=...).');
  document.body.insertBefore(note, $('status').nextSibling);
  for (const b of document.querySelectorAll('form button')) b.disabled = true;
}

function drawWhy(answer, lostHop) {
  const svg = $('why-topo');
  svg.replaceChildren();
  const mode = answer.topology.match(/a \\((\\w+)/)[1];
  const hairpin = /hairpin on/.test(answer.topology);
  const got = new Set(answer.frames.flatMap((f) => Object.keys(f.copies).filter((s) => f.copies[s] > 0)));
  const q = answer.question;
  const box = (x, y, w, label, fill, id) => {
    const g = el('g', id ? { 'data-node': id } : {});
    g.append(el('rect', { x: x - w / 2, y, width: w, height: 30, rx: 5, fill, stroke: '#333' }));
    g.append(el('text', { x, y: y + 20, 'text-anchor': 'middle' }, label));
    svg.append(g);
  };
  const link = (x1, y1, x2, y2) => svg.append(el('line', { x1, y1, x2, y2, stroke: '#888', 'stroke-width': 2 }));
  const station = (name, x, y) => box(x, y, 90, name === q.from ? name + ' (sends)' : name,
    name === q.from ? '#f9b36b' : name === q.to ? (answer.reached ? '#8fd19e' : '#f6c2c2') : '#fff', name);
  const endpoints = mode === 'passthru' ? ['a'] : ['a', 'b'];
  endpoints.forEach((n, i) => { const x = endpoints.length === 1 ? 180 : 120 + 120 * i; link(x, 40, x, 80);
    station(n, x, 10); });
  const red = (hop) => (lostHop === hop ? '#f6c2c2' : '#e4e7eb');
  box(180, 80, 220, 'macvlan (' + mode + ') on the lower', red('macvlan'), 'macvlan');
  link(180, 110, 180, 200);
  link(180, 150, 330, 150);
  station('host', 375, 135);
  svg.append(el('text', { x: 190, y: 176, 'font-size': 11 }, 'the lower: the host stack owns it'));
  box(180, 200, 180, hairpin ? 'switch, hairpin on' : 'switch, hairpin off', red('switch'), 'switch');
  link(180, 230, 180, 270);
  station('ext', 180, 270);
  if (lostHop !== null) svg.append(el('text', { x: 10, y: 322, 'font-size': 12, class: 'drop' },
    'lost at the ' + lostHop + (got.size > 0 ? '; copies reached ' + [...got].join(', ') : '')));
}

async function askWhy(ev) {
  ev.preventDefault();
  const form = $('why');
  const fields = { mode: form.mode.value, from: form.from.value, to: form.to.value,
    hairpin: form.hairpin.checked, verify: form.verify.checked };
  $('why-error').textContent = '';
  $('why-answer').textContent = fields.verify ? 'asking the model, then the kernel (a few seconds)...' : '';
  const res = await fetch('why', { method: 'POST', headers: { 'content-type': 'application/json',
    'x-tapyard-token': token }, body: JSON.stringify(fields) });
  const body = await res.json();
  if (!res.ok) { $('why-answer').textContent = ''; $('why-frames').replaceChildren(); $('why-kernel').replaceChildren();
    $('why-error').textContent = body.error; return; }
  const a = body.answer;
  const first = a.frames.find((f) => !f.reached);
  const lostHop = first && first.lost ? (first.lost.match(/^\\[\\d+\\] (\\w+)/) || [])[1] || null : null;
  drawWhy(a, lostHop);
  $('why-answer').textContent = a.reached ? 'Yes: ' + a.question.to + ' gets every frame of the ping.'
    : 'No: ' + a.question.from + ' cannot reach ' + a.question.to + (first.cause ? ': ' + first.cause : '') + '.';
  $('why-frames').replaceChildren(...a.frames.map((f) => el('li', { class: f.reached ? 'out' : 'drop' },
    f.name + (f.reached ? ' reaches ' + f.to : ' is lost at ' + f.lost))));
  const v = body.verify;
  const items = [];
  if (v && v.unavailable) items.push(el('li', {}, 'the kernel was not asked: ' + v.unavailable));
  if (v) for (const f of v.frames) {
    const drops = f.kernel.drops.map((d) => d.reason + ' in ' + d.fn + ' (on ' + d.where + ')');
    items.push(el('li', { class: f.agree ? 'out' : 'drop' }, f.name + ': the kernel ' +
      (drops.length ? 'dropped it: ' + drops.join('; ') : 'dropped nothing') +
      (f.agree ? ' - agrees' : ' - DISAGREES')));
  }
  $('why-kernel').replaceChildren(...items);
}
$('why').addEventListener('submit', askWhy);

new EventSource('events').onmessage = (m) => {
  const report = JSON.parse(m.data);
  const rows = report.ports.flatMap((p) => ((p.kernel && p.kernel.reasons) || []).map((r) => {
    const tr = el('tr');
    tr.append(el('td', {}, p.name), el('td', {}, r.reason), el('td', {}, r.fn));
    tr.append(el('td', { class: 'n' }, String(r.count)));
    return tr;
  }));
  const watched = report.ports.some((p) => p.kernel && p.kernel.reasons);
  if (rows.length === 0) { const tr = el('tr'); tr.append(el('td', { colspan: 4 }, watched ? 'none' :
    'not watched: start the run with --kernel-reasons after the -- (root and bpftrace)')); rows.push(tr); }
  $('kernel-reasons').tBodies[0].replaceChildren(...rows);
};
`;
