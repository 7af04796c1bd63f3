// The ui's one page, self-contained (no assets from anywhere): the topology as SVG with each port's
// counters on it, a table of counters and drop reasons, both redrawn from each server-sent event,
// the trace form (the model) and the send form (the live forwarder). The token comes from the
// page's own URL and goes only into POST headers.

import { WHY_SCRIPT, WHY_SECTION } from './why-page.js';

export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tapyard ui</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.2em; color: #222; background: #fafafa; }
h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
#status { color: #555; } #status.ended { color: #a00; font-weight: bold; }
.row { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
svg { background: #fff; border: 1px solid #ccc; }
table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ccc; padding: .25em .6em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
form { display: grid; grid-template-columns: auto 22em; gap: .3em .6em; background: #fff; padding: .6em;
  border: 1px solid #ccc; }
input { font: inherit; } button { grid-column: 2; justify-self: start; }
#hops li { margin-bottom: .4em; } .drop { color: #a00; } .out { color: #060; } code { font-size: .95em; }
#trace-error, #send-error { color: #a00; } select { font: inherit; }
</style></head><body>
<h1>tapyard ui</h1>
<div id="status">connecting...</div>
<div class="row">
  <svg id="topo" width="520" height="300" viewBox="0 30 520 300" role="img" aria-label="topology"></svg>
  <div><h2>Counters</h2><table id="counters"><thead><tr><th>port</th><th>device</th><th>rx frames</th>
    <th>tx frames</th><th>rx pps</th><th>tx pps</th><th>drops</th></tr></thead><tbody></tbody></table>
    <h2>Drop reasons</h2><table id="drops"><thead><tr><th>port</th><th>reason</th><th>frames</th></tr></thead>
    <tbody></tbody></table></div>
</div>
<h2>Trace a frame through the model</h2>
<div class="row">
<form id="trace">
  <label for="topology">topology</label><input id="topology" name="topology">
  <label for="from">from</label><input id="from" name="from" placeholder="the first station">
  <label for="dst">dst</label><input id="dst" name="dst" placeholder="station, MAC, broadcast, ipv4-mcast">
  <label for="src">src</label><input id="src" name="src" placeholder="the sender's own MAC">
  <label for="vlan">vlan</label><input id="vlan" name="vlan" placeholder="none">
  <label for="ethertype">ethertype</label><input id="ethertype" name="ethertype" placeholder="0x88b5">
  <button type="submit">trace</button>
</form>
<div><div id="trace-topology"></div><ol id="hops"></ol><div id="copies"></div><div id="trace-error"></div></div>
</div>
${WHY_SECTION}
<h2>Send a frame through the live forwarder</h2>
<div class="row">
<form id="send">
  <label for="send-port">as if read on</label><select id="send-port" name="port"></select>
  <label for="send-dst">dst</label><input id="send-dst" name="dst" placeholder="broadcast, or a MAC">
  <label for="send-src">src</label><input id="send-src" name="src" placeholder="02:74:79:00:00:01">
  <label for="send-vlan">vlan</label><input id="send-vlan" name="vlan" placeholder="none">
  <label for="send-ethertype">ethertype</label><input id="send-ethertype" name="ethertype" placeholder="0x88b5">
  <button type="submit">send</button>
</form>
<div><ul id="sent"></ul><div id="send-error"></div></div>
</div>
<script>
'use strict';
const token = new URLSearchParams(location.search).get('token') || '';
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, text) => {
  const ns = ['svg', 'circle', 'line', 'text', 'rect', 'g'].includes(tag) ? 'http://www.w3.org/2000/svg' : null;
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
let topology = null;
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

function drawTopology(report) {
  const svg = $('topo');
  svg.replaceChildren();
  const cx = 260, cy = 180, r = 125, ports = topology.ports;
  const byName = new Map((report ? report.ports : []).map((p) => [p.name, p]));
  ports.forEach((p, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / ports.length + (ports.length === 2 ? Math.PI / 2 : 0);
    const x = cx + r * Math.cos(a), y = cy + r * Math.sin(a);
    svg.append(el('line', { x1: cx, y1: cy, x2: x, y2: y, stroke: '#888', 'stroke-width': 2 }));
    const g = el('g', { 'data-port': p.name });
    g.append(el('rect', { x: x - 85, y: y - 30, width: 170, height: 60, rx: 6, fill: '#eef4ff', stroke: '#36c' }));
    const title = p.name + ' (' + p.kind + ')';
    g.append(el('text', { x, y: y - 12, 'text-anchor': 'middle', 'font-weight': 'bold' }, title));
    g.append(el('text', { x, y: y + 3, 'text-anchor': 'middle', 'font-size': 11 }, p.target));
    const c = byName.get(p.name);
    const line = c ? 'rx ' + c.rxFrames + '  tx ' + c.txFrames + '  drop ' + sum(c.drops) : 'no counters yet';
    g.append(el('text', { x, y: y + 20, 'text-anchor': 'middle', 'font-size': 12, class: 'port-counters' }, line));
    svg.append(g);
  });
  svg.append(el('circle', { cx, cy, r: 42, fill: '#fff3dd', stroke: '#c80', 'stroke-width': 2 }));
  svg.append(el('text', { x: cx, y: cy + 5, 'text-anchor': 'middle', 'font-weight': 'bold' }, topology.switch));
}

function showReport(report) {
  const ended = report.type === 'final';
  $('status').textContent = (ended ? 'the run ended after ' : 'live: ') + report.seconds.toFixed(1) + ' s' +
    (report.balanced ? ', ledger balanced' : ', ledger NOT balanced') + (report.error ? ' - ' + report.error : '');
  $('status').className = ended ? 'ended' : 'live';
  drawTopology(report);
  const rows = report.ports.map((p) => {
    const tr = el('tr', { 'data-port': p.name });
    for (const [v, n] of [[p.name], [p.device], [p.rxFrames, 1], [p.txFrames, 1], [p.rate.rxPps, 1], [p.rate.txPps, 1],
      [sum(p.drops), 1]]) tr.append(el('td', n ? { class: 'n' } : {}, String(v)));
    return tr;
  });
  $('counters').tBodies[0].replaceChildren(...rows);
  const drops = report.ports.flatMap((p) => Object.entries(p.drops).filter(([, n]) => n > 0).map(([reason, n]) => {
    const tr = el('tr');
    tr.append(el('td', {}, p.name), el('td', {}, reason), el('td', { class: 'n' }, String(n)));
    return tr;
  }));
  if (drops.length === 0) drops.push(el('tr', {}, '')), drops[0].append(el('td', { colspan: 3 }, 'no drops'));
  $('drops').tBodies[0].replaceChildren(...drops);
}

async function trace(ev) {
  ev.preventDefault();
  const fields = Object.fromEntries(new FormData($('trace')).entries());
  $('trace-error').textContent = '';
  const res = await fetch('trace', { method: 'POST', headers: { 'content-type': 'application/json',
    'x-tapyard-token': token }, body: JSON.stringify(fields) });
  const body = await res.json();
  if (!res.ok) { $('hops').replaceChildren(); $('copies').textContent = ''; $('trace-error').textContent = body.error;
    return; }
  $('trace-topology').textContent = body.topology + ' - ' + body.frame.src + ' > ' + body.frame.dst +
    (body.frame.vlan === null ? '' : ' vlan ' + body.frame.vlan) + ' ' + body.frame.ethertype + ', from ' + body.from;
  $('hops').replaceChildren(...body.hops.map((h) => {
    const li = el('li', { class: 'hop' });
    li.append(el('b', {}, h.at + (h.ingress ? ' (in at ' + h.ingress + ')' : '')));
    const ul = el('ul');
    for (const s of h.steps) ul.append(el('li', {}, s.at + ': ' + s.text + (s.detail ? ' (' + s.detail + ')' : '')));
    for (const o of h.outputs) ul.append(el('li', { class: 'out' }, 'copy to ' + o.port + ': ' + o.text));
    if (h.drop !== null) ul.append(el('li', { class: 'drop' }, 'dropped: ' + h.dropText));
    li.append(ul);
    return li;
  }));
  $('copies').textContent = 'copies: ' + Object.entries(body.copies).map(([s, n]) => s + ' x' + n).join(', ');
}

async function sendOne(ev) {
  ev.preventDefault();
  const fields = Object.fromEntries(new FormData($('send')).entries());
  $('send-error').textContent = '';
  const res = await fetch('send', { method: 'POST', headers: { 'content-type': 'application/json',
    'x-tapyard-token': token }, body: JSON.stringify(fields) });
  const body = await res.json();
  if (!res.ok || body.error) { $('sent').replaceChildren(); $('send-error').textContent = body.error; return; }
  const items = [el('li', {}, body.bytes + ' bytes switched as if read on ' + body.port + ' (counted as its rx)')];
  for (const p of body.tx) items.push(el('li', { class: 'out' }, 'written to ' + p));
  for (const d of body.drops) items.push(el('li', { class: 'drop' }, 'dropped on ' + d.port + ': ' + d.reason));
  if (body.queued > 0) items.push(el('li', {}, body.queued + ' copies queued behind a full port'));
  $('sent').replaceChildren(...items);
}

fetch('topology').then((r) => r.json()).then((t) => {
  topology = t;
  $('topology').value = t.trace;
  drawTopology(null);
  const events = new EventSource('events');
  events.onmessage = (m) => showReport(JSON.parse(m.data));
  events.onerror = () => { if ($('status').className !== 'ended') $('status').textContent = 'disconnected'; };
  $('trace').addEventListener('submit', trace);
  $('send-port').replaceChildren(...t.ports.map((p) => el('option', { value: p.name }, p.name)));
  $('send').addEventListener('submit', sendOne);
});
${WHY_SCRIPT}
</script></body></html>
`;
