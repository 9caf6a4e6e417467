// console.js: Petri's read-only auditor console.  Everything shown is
// checked here, in the browser, with WebCrypto: each record's leaf hash
// (SHA-256 of 0x00 || bytes), its prev link and its Ed25519 signature; the
// Merkle root of the records against the signed checkpoint; inclusion
// proofs; the witnesses' cosignatures (cosignature/v1).  The server's own
// verdicts are never used.  No library, no CDN (docs/audit-format.md).
'use strict';

const MAX_RECORDS = 20000; // fetched for the timeline (20 pages)
const enc = new TextEncoder();
const dec = new TextDecoder();
const $ = (s) => document.querySelector(s);
const el = (tag, attrs = {}, ...kids) => {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs))
		if (k === 'class') e.className = v;
		else e.setAttribute(k, v);
	for (const k of kids)
		e.append(k instanceof Node ? k : document.createTextNode(String(k)));
	return e;
};

// ---- bytes and hashes ----------------------------------------------------

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => new Uint8Array(s.match(/../g).map((x) => parseInt(x, 16)));
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const concat = (...a) => {
	const out = new Uint8Array(a.reduce((n, x) => n + x.length, 0));
	let o = 0;
	for (const x of a) { out.set(x, o); o += x.length; }
	return out;
};
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sha256 = async (b) => new Uint8Array(await crypto.subtle.digest('SHA-256', b));
const leafHash = (bytes) => sha256(concat(new Uint8Array([0]), bytes));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

async function ed25519Verify(pub, sig, msg) {
	const k = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
	return crypto.subtle.verify({ name: 'Ed25519' }, k, sig, msg);
}

// ---- keys and notes (c2sp.org/signed-note) -------------------------------

async function parseVkey(s, alg) {
	// <name>+<8 hex>+<base64>: the base64 may hold '+' too
	const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(s.trim());
	if (!m)
		throw new Error('not a verifier key');
	const p = m.slice(1);
	const raw = b64(p[2]);
	if (raw.length !== 33 || raw[0] !== alg)
		throw new Error('not an Ed25519 key of that kind');
	const pub = raw.slice(1);
	const id = (await sha256(concat(enc.encode(p[0] + '\n'), new Uint8Array([alg]), pub))).slice(0, 4);
	if (hex(id) !== p[1])
		throw new Error('key id does not match');
	return { name: p[0], id, pub, text: s.trim() };
}

function parseNote(text) {
	const i = text.lastIndexOf('\n\n');
	if (i < 0)
		throw new Error('not a signed note');
	const body = text.slice(0, i + 1);
	const lines = body.split('\n');
	const sigs = text.slice(i + 2).split('\n').filter((l) => l).map((l) => {
		const m = /^\u2014 (\S+) (\S+)$/.exec(l);
		if (!m)
			throw new Error('bad signature line');
		return { name: m[1], blob: b64(m[2]) };
	});
	return { body, origin: lines[0], size: Number(lines[1]), root: b64(lines[2]), sigs };
}

async function checkpointSigned(note, key) {
	const s = note.sigs.find((x) => x.name === key.name && eq(x.blob.slice(0, 4), key.id));
	return !!s && s.blob.length === 68 &&
	    ed25519Verify(key.pub, s.blob.slice(4), enc.encode(note.body));
}

async function cosigned(note, wkey) {
	const s = note.sigs.find((x) => x.name === wkey.name && eq(x.blob.slice(0, 4), wkey.id));
	if (!s || s.blob.length !== 76)
		return null;
	const t = s.blob.slice(4, 12).reduce((v, x) => v * 256n + BigInt(x), 0n);
	const msg = enc.encode('cosignature/v1\ntime ' + t + '\n' + note.body);
	return (await ed25519Verify(wkey.pub, s.blob.slice(12), msg)) ? Number(t) : false;
}

// ---- Merkle (RFC 9162) ---------------------------------------------------

async function merkleRoot(leaves) {
	if (leaves.length === 0)
		return sha256(new Uint8Array());
	let level = leaves;
	while (level.length > 1) {
		const next = [];
		for (let i = 0; i + 1 < level.length; i += 2)
			next.push(await nodeHash(level[i], level[i + 1]));
		if (level.length % 2)
			next.push(level[level.length - 1]);
		level = next;
	}
	return level[0];
}

async function inclusionOk(index, size, leaf, proof, root) {
	if (index >= size)
		return false;
	let fn = index, sn = size - 1, r = leaf;
	for (const p of proof) {
		if (sn === 0)
			return false;
		if (fn % 2 === 1 || fn === sn) {
			r = await nodeHash(p, r);
			if (fn % 2 === 0)
				while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
		} else
			r = await nodeHash(r, p);
		fn = Math.floor(fn / 2);
		sn = Math.floor(sn / 2);
	}
	return sn === 0 && eq(r, root);
}

// ---- the appliance's read routes -----------------------------------------

const S = { token: sessionStorage.getItem('petri.token'), pin: sessionStorage.getItem('petri.pin') };

async function api(path, as = 'json') {
	const r = await fetch(path, { headers: { Authorization: 'Bearer ' + S.token } });
	if (!r.ok)
		throw new Error(path + ': HTTP ' + r.status);
	return as === 'json' ? r.json() : as === 'text' ? r.text() : new Uint8Array(await r.arrayBuffer());
}

// The keys in force: the first one is the pinned key when there is one.
async function loadKeys() {
	const pk = await api('/v1/audit/public-key');
	const hist = [];
	for (const h of pk.history)
		hist.push({ first: h.first_seq, created: h.created_at, key: await parseVkey(h.vkey, 1) });
	S.pinned = false;
	if (S.pin) {
		const pin = await parseVkey(S.pin, 1);
		if (!hist.length || !eq(hist[0].key.pub, pin.pub) || hist[0].key.name !== pin.name)
			throw new Error('the log\'s first key is not the key you pinned');
		S.pinned = true;
	}
	S.keys = hist;
	return pk;
}
const keyAt = (seq) => S.keys.filter((k) => k.first <= seq).pop().key;

// ---- the timeline ----------------------------------------------------------

async function loadRecords() {
	const out = [];
	for (let from = 0; from < MAX_RECORDS; from += 1000) {
		const page = await api('/v1/audit/records?from=' + from + '&limit=1000');
		out.push(...page.records);
		if (page.records.length < 1000)
			break;
	}
	return out;
}

// Checks every record: leaf hash, prev link, seq, signature; then the root.
async function verifyRecords(recs, cp) {
	let prev = new Uint8Array(32);
	const leaves = [];
	for (const [i, r] of recs.entries()) {
		const bytes = enc.encode(r.record);
		const leaf = await leafHash(bytes);
		let rec = null, why = '';
		try { rec = JSON.parse(r.record); } catch (e) { why = 'not JSON'; }
		if (!why && rec.seq !== i) why = 'seq ' + (rec && rec.seq) + ' where ' + i + ' was due';
		if (!why && rec.prev !== hex(prev)) why = 'prev does not link to record ' + (i - 1);
		if (!why && !(await ed25519Verify(keyAt(i).pub, b64(r.signature), leaf)))
			why = 'signature does not verify';
		r.parsed = rec;
		r.ok = !why;
		r.why = why;
		leaves.push(leaf);
		prev = leaf;
	}
	const note = parseNote(cp);
	const signed = await checkpointSigned(note, keyAt(Math.max(note.size - 1, 0)));
	const root = note.size <= leaves.length ? await merkleRoot(leaves.slice(0, note.size)) : null;
	return { note, signed, rootOk: !!root && eq(root, note.root) };
}

function fillTypes(recs) {
	const sel = $('#f-type');
	for (const t of [...new Set(recs.map((r) => r.parsed && r.parsed.type))].sort())
		sel.append(el('option', { value: t }, t));
}

function actorOf(p) { return p && p.actor ? (p.actor.key || '') + ' (' + (p.actor.role || '') + ')' : ''; }

function renderTimeline() {
	const f = {
		type: $('#f-type').value, sandbox: $('#f-sandbox').value.trim(),
		tenant: $('#f-tenant').value.trim(), actor: $('#f-actor').value.trim(),
		from: $('#f-from').value ? new Date($('#f-from').value + 'Z').getTime() : null,
		to: $('#f-to').value ? new Date($('#f-to').value + 'Z').getTime() : null,
	};
	const tb = $('#records tbody');
	tb.replaceChildren();
	let shown = 0;
	for (const r of S.records.slice().reverse()) {
		const p = r.parsed || {};
		const t = Date.parse(p.time);
		if ((f.type && p.type !== f.type) || (f.sandbox && p.sandbox !== f.sandbox) ||
		    (f.tenant && p.tenant !== f.tenant) || (f.actor && !actorOf(p).includes(f.actor)) ||
		    (f.from !== null && t < f.from) || (f.to !== null && t > f.to))
			continue;
		if (++shown > 500)
			break;
		const tr = el('tr', { 'data-seq': r.seq },
		    el('td', {}, r.seq), el('td', {}, p.time || ''), el('td', {}, p.type || '?'),
		    el('td', {}, p.tenant || ''), el('td', {}, actorOf(p)), el('td', {}, p.sandbox || ''),
		    el('td', { class: r.ok ? 'ok' : 'bad' }, r.ok ? '\u2713 signature, chain' : '\u2717 ' + r.why));
		tr.addEventListener('click', () => { location.hash = '#record/' + r.seq; });
		tb.append(tr);
	}
	$('#tl-summary').textContent = shown + ' shown';
	$('#tl-summary').append(' \u2014 ', S.summary);
}

// ---- one record ------------------------------------------------------------

function dlRow(dl, k, v) { dl.append(el('dt', {}, k), el('dd', {}, v)); }

async function blobText(ref) {
	if (!ref || !ref.sha256)
		return '';
	const b = await api('/v1/audit/blobs/' + ref.sha256, 'bytes');
	return hex(await sha256(b)) === ref.sha256 ? dec.decode(b) : '(blob does not match its hash)';
}

async function showRecord(seq) {
	const r = await api('/v1/audit/records/' + seq);
	const checks = $('#rec-checks');
	checks.replaceChildren();
	const add = (ok, text) => checks.append(el('li', { class: ok ? 'ok' : 'bad' }, (ok ? '\u2713 ' : '\u2717 ') + text));
	const bytes = enc.encode(r.record);
	const leaf = await leafHash(bytes);
	add(hex(leaf) === r.leaf_hash, 'leaf hash computed here: ' + hex(leaf));
	add(await ed25519Verify(keyAt(seq).pub, b64(r.signature), leaf),
	    'record signature by ' + keyAt(seq).name + (S.pinned ? ' (key chain from your pinned key)' : ' (key as the server gives it: pin it for independence)'));
	let all = hex(leaf) === r.leaf_hash;
	if (r.inclusion) {
		const note = parseNote(r.inclusion.checkpoint);
		const inc = await inclusionOk(seq, r.inclusion.tree_size, leaf, r.inclusion.hashes.map(unhex), note.root);
		const sig = await checkpointSigned(note, keyAt(Math.max(note.size - 1, 0)));
		add(inc && note.size === r.inclusion.tree_size, 'inclusion proof in the tree of size ' + note.size);
		add(sig, 'checkpoint signed by the log');
		all = all && inc && sig;
		for (const w of S.witnesses || []) {
			const t = await cosigned(note, w);
			add(!!t, 'cosigned by witness ' + w.name + (t ? ' at ' + new Date(t * 1000).toISOString() : ''));
		}
	} else {
		add(false, 'no inclusion proof yet');
		all = false;
	}
	const rec = JSON.parse(r.record);
	$('#rec-title').textContent = 'Record ' + seq + ': ' + rec.type;
	$('#rec-verdict').className = 'summary ' + (all ? 'ok' : 'bad');
	$('#rec-verdict').textContent = all ? 'Verified in this browser' : 'NOT verified: see below';
	const body = $('#rec-body');
	body.replaceChildren();
	if (rec.type === 'exec.finished')
		await renderExec(rec, body);
	body.append(el('h3', {}, 'Record bytes'), el('pre', {}, r.record));
}

async function renderExec(rec, body) {
	const dl = el('dl');
	dlRow(dl, 'prompt', rec.prompt ? rec.prompt.text || '(' + rec.prompt.sha256 + ')' : '');
	dlRow(dl, 'model', rec.model || '');
	dlRow(dl, 'command', Array.isArray(rec.command) ? rec.command.join(' ') : rec.command || '');
	dlRow(dl, 'exit code', String(rec.exit_code));
	dlRow(dl, 'sandbox / image', (rec.sandbox || '') + ' / ' + (rec.image || ''));
	dlRow(dl, 'policy', rec.policy ? rec.policy.name : '');
	body.append(el('h3', {}, 'Execution'), dl);
	const files = (rec.code && rec.code.files) || [];
	body.append(el('h3', {}, 'Code files (' + files.length + ')'));
	for (const f of files.slice(0, 20))
		body.append(el('h4', {}, f.path + ' '), el('pre', {}, await blobText(f)));
	body.append(el('h3', {}, 'Output'), el('pre', { id: 'stdout' }, await blobText(rec.stdout)));
	if (rec.install)
		body.append(el('h3', {}, 'Install log'), el('pre', {}, rec.install.log ? await blobText(rec.install.log) : JSON.stringify(rec.install, null, 1)));
	if (rec.sbom) {
		let comps = rec.sbom.components || [];
		if (rec.sbom.blob) {
			try { comps = JSON.parse(await blobText(rec.sbom)).components || []; } catch (e) { comps = []; }
		}
		const t = el('table', {}, el('tr', {}, el('th', {}, 'component'), el('th', {}, 'version'), el('th', {}, 'licences')));
		for (const c of comps)
			t.append(el('tr', {}, el('td', {}, c.name || ''), el('td', {}, c.version || ''),
			    el('td', {}, (c.licenses || []).map((l) => (l.license && (l.license.id || l.license.name)) || l.expression || '').join(', '))));
		body.append(el('h3', {}, 'SBOM'), t);
	}
	const net = rec.network || [];
	const nt = el('table', { id: 'network' }, el('tr', {}, el('th', {}, 'method'), el('th', {}, 'host'), el('th', {}, 'decision'), el('th', {}, 'secrets released')));
	for (const c of Array.isArray(net) ? net : [])
		nt.append(el('tr', {}, el('td', {}, c.method || ''), el('td', {}, c.host || ''), el('td', {}, c.decision || ''),
		    el('td', {}, (c.secrets || []).map((s) => s.name || s).join(', '))));
	body.append(el('h3', {}, 'Network calls (' + net.length + ')'), nt);
	if (rec.tests)
		body.append(el('h3', {}, 'Tests'), el('pre', {}, JSON.stringify(rec.tests, null, 1)));
}

// ---- log state ---------------------------------------------------------------

function chart(recs) {
	const W = 800, H = 160, N = 24;
	const ts = recs.map((r) => Date.parse(r.parsed && r.parsed.time)).filter((t) => !isNaN(t));
	const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
	svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
	svg.setAttribute('width', W);
	svg.setAttribute('role', 'img');
	if (!ts.length)
		return svg;
	const lo = Math.min(...ts), hi = Math.max(...ts) + 1, step = (hi - lo) / N;
	const all = new Array(N).fill(0), den = new Array(N).fill(0);
	for (const r of recs) {
		const t = Date.parse(r.parsed && r.parsed.time);
		if (isNaN(t)) continue;
		const b = Math.min(N - 1, Math.floor((t - lo) / step));
		all[b]++;
		if (r.parsed.type === 'egress.denied') den[b]++;
	}
	const max = Math.max(...all, 1), bw = W / N;
	const rect = (x, y, w, h, fill) => {
		const e = document.createElementNS(svg.namespaceURI, 'rect');
		for (const [k, v] of Object.entries({ x, y, width: w, height: h, fill })) e.setAttribute(k, v);
		svg.append(e);
	};
	for (let i = 0; i < N; i++) {
		const h = (all[i] / max) * (H - 20), hd = (den[i] / max) * (H - 20);
		rect(i * bw + 1, H - 14 - h, bw - 2, h, '#8cb4e8');
		rect(i * bw + 1, H - 14 - hd, bw - 2, hd, '#d1453b');
	}
	const label = document.createElementNS(svg.namespaceURI, 'text');
	label.setAttribute('x', 2);
	label.setAttribute('y', H - 2);
	label.textContent = new Date(lo).toISOString() + ' \u2192 ' + new Date(hi).toISOString() + '   blue: records, red: egress denials (max ' + max + ' per bar)';
	svg.append(label);
	return svg;
}

async function showState() {
	const dl = $('#state-dl');
	dl.replaceChildren();
	dlRow(dl, 'log', S.origin);
	dlRow(dl, 'records', String(S.records.length));
	dlRow(dl, 'newest checkpoint', S.check.note.size + ' records, root ' + hex(S.check.note.root));
	dlRow(dl, 'checkpoint signature', S.check.signed ? '\u2713 verified here' : '\u2717 does not verify');
	dlRow(dl, 'Merkle root', S.check.rootOk ? '\u2713 recomputed here from the records' : '\u2717 differs from the records');
	dlRow(dl, 'first key', S.pinned ? 'pinned by you' : 'as the server gives it (pin it at sign-in)');
	$('#chart').replaceChildren(chart(S.records));
	const wt = $('#witnesses tbody');
	wt.replaceChildren();
	for (const w of S.wstatus.witnesses || []) {
		const k = (S.witnesses || []).find((x) => x.name === w.name);
		const t = k ? await cosigned(S.check.note, k) : null;
		wt.append(el('tr', {}, el('td', {}, w.name), el('td', {}, w.state), el('td', {}, w.cosigned_size),
		    el('td', {}, w.lag), el('td', {}, w.errors), el('td', { class: t ? 'ok' : 'bad' }, t ? '\u2713 ' + new Date(t * 1000).toISOString() : '\u2717 not on the newest checkpoint')));
	}
	const kt = $('#keys tbody');
	kt.replaceChildren();
	for (const k of S.keys)
		kt.append(el('tr', {}, el('td', {}, k.first), el('td', {}, k.created), el('td', {}, el('code', {}, k.key.text))));
}

// ---- bundles -----------------------------------------------------------------

function untar(buf) {
	const files = {};
	for (let o = 0; o + 512 <= buf.length;) {
		const h = buf.subarray(o, o + 512);
		if (h.every((x) => x === 0))
			break;
		const name = dec.decode(h.subarray(0, 100)).replace(/\0.*$/s, '');
		const prefix = dec.decode(h.subarray(345, 500)).replace(/\0.*$/s, '');
		const size = parseInt(dec.decode(h.subarray(124, 136)).replace(/\0.*$/s, '').trim() || '0', 8);
		const full = prefix ? prefix + '/' + name : name;
		files[full] = buf.subarray(o + 512, o + 512 + size);
		o += 512 + Math.ceil(size / 512) * 512;
	}
	return files;
}

async function verifyBundle(buf) {
	const list = $('#bundle-checks');
	list.replaceChildren();
	const add = (ok, text) => list.append(el('li', { class: ok ? 'ok' : 'bad' }, (ok ? '\u2713 ' : '\u2717 ') + text));
	const f = untar(buf);
	const man = JSON.parse(dec.decode(f['petri-bundle.json']));
	const key = S.pin ? await parseVkey(S.pin, 1) : S.keys[0].key;
	add(true, 'bundle of ' + man.origin + ', records ' + man.from + '..' + (man.to - 1) + ', checked with ' + (S.pin ? 'your pinned key' : 'the log\'s first key as the server gives it'));
	if (man.from !== 0) {
		add(false, 'partial bundles: use petri-verify');
		return false;
	}
	const lines = dec.decode(f['records.jsonl']).split('\n').filter((l) => l);
	const sigs = dec.decode(f['records.sig']).split('\n').filter((l) => l).map((l) => b64(l.split(' ')[1]));
	let prev = new Uint8Array(32), ok = lines.length === man.to - man.from, keyNow = key;
	const leaves = [];
	for (const [i, line] of lines.entries()) {
		const leaf = await leafHash(enc.encode(line));
		const rec = JSON.parse(line);
		if (rec.seq !== i || rec.prev !== hex(prev) || !(await ed25519Verify(keyNow.pub, sigs[i], leaf))) {
			add(false, 'record ' + i + ': ' + (rec.seq !== i ? 'out of order' : rec.prev !== hex(prev) ? 'chain broken' : 'signature does not verify'));
			ok = false;
			break;
		}
		if (rec.type === 'log.key_rotated')
			keyNow = await parseVkey(rec.new_key, 1);
		leaves.push(leaf);
		prev = leaf;
	}
	if (ok)
		add(true, lines.length + ' records: bytes, chain and signatures verified');
	const cpName = Object.keys(f).filter((n) => n.startsWith('checkpoints/')).sort().pop();
	const note = parseNote(dec.decode(f[cpName]));
	const signed = await checkpointSigned(note, keyNow);
	const root = ok && note.size <= leaves.length ? await merkleRoot(leaves.slice(0, note.size)) : null;
	add(signed, 'newest checkpoint (size ' + note.size + ') signed by the log');
	add(!!root && eq(root, note.root), 'its Merkle root recomputed from the records');
	for (const w of S.witnesses || []) {
		const t = await cosigned(note, w);
		add(!!t, 'cosigned by witness ' + w.name);
	}
	const all = ok && signed && !!root && eq(root, note.root);
	$('#bundle-verdict').className = 'summary ' + (all ? 'ok' : 'bad');
	$('#bundle-verdict').textContent = all ? 'Bundle verified in this browser' : 'Bundle NOT verified';
	return all;
}

// ---- pages -------------------------------------------------------------------

function show(id) {
	for (const s of document.querySelectorAll('main > section'))
		s.hidden = s.id !== id;
}

async function route() {
	if (!S.token) { show('signin'); $('#nav').hidden = true; return; }
	$('#nav').hidden = false;
	const h = location.hash || '#timeline';
	if (h.startsWith('#record/')) { show('record'); return showRecord(Number(h.slice(8))); }
	if (h === '#state') { show('state'); return showState(); }
	if (h === '#bundle') { show('bundle'); return; }
	show('timeline');
	renderTimeline();
}

async function start() {
	const pk = await loadKeys();
	S.origin = pk.origin;
	const [recs, cp, ws] = await Promise.all([loadRecords(), api('/v1/audit/checkpoint', 'text'), api('/v1/audit/witnesses')]);
	S.records = recs;
	S.wstatus = ws;
	S.witnesses = [];
	for (const w of ws.witnesses || [])
		try { S.witnesses.push(await parseVkey(w.vkey, 4)); } catch (e) { /* shown as unchecked */ }
	S.check = await verifyRecords(recs, cp);
	const bad = recs.filter((r) => !r.ok).length;
	S.summary = el('span', { class: bad || !S.check.signed || !S.check.rootOk ? 'bad' : 'ok', id: 'tl-verdict' },
	    bad ? bad + ' record(s) FAIL verification in this browser'
	        : !S.check.signed || !S.check.rootOk ? 'the checkpoint does not match the records'
	        : 'all ' + recs.length + ' records verified in this browser; root of ' + S.check.note.size + ' matches the signed checkpoint');
	fillTypes(recs);
}

async function signin(ev) {
	ev.preventDefault();
	S.token = $('#token').value.trim();
	S.pin = $('#pin').value.trim() || null;
	try {
		await start();
		sessionStorage.setItem('petri.token', S.token);
		if (S.pin) sessionStorage.setItem('petri.pin', S.pin);
		$('#signin-error').textContent = '';
		await route();
	} catch (e) {
		S.token = null;
		$('#signin-error').textContent = 'Cannot sign in: ' + e.message;
	}
}

window.addEventListener('DOMContentLoaded', async () => {
	$('#signin-form').addEventListener('submit', signin);
	$('#signout').addEventListener('click', () => { sessionStorage.clear(); location.hash = ''; location.reload(); });
	$('#filters').addEventListener('input', renderTimeline);
	window.addEventListener('hashchange', () => route().catch((e) => alert(e.message)));
	const fileIn = $('#bundle-file'), drop = $('#drop');
	fileIn.addEventListener('change', async () => verifyBundle(new Uint8Array(await fileIn.files[0].arrayBuffer())));
	drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
	drop.addEventListener('drop', async (e) => {
		e.preventDefault();
		drop.classList.remove('over');
		verifyBundle(new Uint8Array(await e.dataTransfer.files[0].arrayBuffer()));
	});
	if (S.token) {
		try { await start(); } catch (e) { sessionStorage.clear(); S.token = null; }
	}
	await route();
});
