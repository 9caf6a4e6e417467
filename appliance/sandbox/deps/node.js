// Petri: dependencies of a Node.js project (docs/deps.md).  Runs in the
// sandbox as the sandbox user, through the egress proxy.  argv[2]: "auto"
// or "only"; further arguments: program files outside the project to scan.
// Manifest first (package.json, with package-lock.json: npm ci), import
// detection second (require/import of packages that are not built in or
// relative).  Installs into a new tree and renames node_modules into
// place on success; the key of what is installed is kept in
// node_modules/.petri-key.  Prints the log, then one line
// "@@PETRI-DEPS@@ {json}".
'use strict';
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const cp = require('child_process'), Module = require('module');

const ROOT = process.cwd();
const NM = path.join(ROOT, 'node_modules');
const NEW = '/sandbox/.petri/node.new';
const MAX_FILES = 2000, MAX_BYTES = 1 << 20;
const SKIP = new Set(['node_modules', '.petri', '.git', 'deps', 'dist', 'build', 'coverage']);
const builtins = new Set(Module.builtinModules.concat(Module.builtinModules.map((m) => 'node:' + m)));

function sha(s) { return crypto.createHash('sha256').update(s).digest('hex'); }

function scan(extra) {
  const files = extra.slice(), names = new Set();
  (function walk(d, depth) {
    if (depth > 16 || files.length >= MAX_FILES) return;
    let ents = [];
    try { ents = fs.readdirSync(d, { withFileTypes: true }); } catch (e) { return; }
    ents.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of ents) {
      if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && /\.(c|m)?[jt]sx?$/.test(e.name) && files.length < MAX_FILES) files.push(p);
    }
  })(ROOT, 0);
  const re = /(?:require\s*\(\s*|import\s*\(\s*|from\s+|import\s+)['"]([^'"\n]+)['"]/g;
  for (const f of files) {
    let text;
    try { if (fs.statSync(f).size > MAX_BYTES) continue; text = fs.readFileSync(f, 'utf8'); } catch (e) { continue; }
    let m;
    while ((m = re.exec(text)) !== null) {
      const s = m[1];
      if (s.startsWith('.') || s.startsWith('/') || builtins.has(s) || builtins.has(s.split('/')[0])) continue;
      const parts = s.split('/');
      const name = s.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) names.add(name);
    }
  }
  return [...names].sort();
}

function provided(name) {
  try { require.resolve(name + '/package.json', { paths: [ROOT] }); return true; } catch (e) { /* next */ }
  try { require.resolve(name, { paths: [ROOT] }); return true; } catch (e) { return false; }
}

// npm's record of what it installed: integrity (sha512) per package path
function integrity() {
  const m = new Map();
  try {
    const lock = JSON.parse(fs.readFileSync(path.join(NM, '.package-lock.json'), 'utf8'));
    for (const [p, v] of Object.entries(lock.packages || {})) {
      const i = v && typeof v.integrity === 'string' ? v.integrity : '';
      if (i.startsWith('sha512-')) m.set(path.join(ROOT, p), Buffer.from(i.slice(7), 'base64').toString('hex'));
    }
  } catch (e) { /* none */ }
  return m;
}

function inventory() {
  const out = [], seen = new Set(), sums = integrity();
  (function walk(dir, depth) {
    if (depth > 32 || out.length >= 5000) return;
    let ents = [];
    try { ents = fs.readdirSync(dir, { withFileTypes: true }); } catch (e) { return; }
    for (const e of ents) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.name.startsWith('@')) { walk(p, depth + 1); continue; }
      let pj;
      try { pj = JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8')); } catch (err) { continue; }
      if (typeof pj.name === 'string' && typeof pj.version === 'string' && !seen.has(pj.name + '@' + pj.version)) {
        seen.add(pj.name + '@' + pj.version);
        let lic = pj.license;
        if (lic && typeof lic === 'object') lic = lic.type;
        if (!lic && Array.isArray(pj.licenses)) lic = pj.licenses.map((l) => (l && l.type) || '').filter(Boolean).join(' OR ');
        const c = { eco: 'npm', name: pj.name, version: pj.version,
          license: typeof lic === 'string' ? lic : '',
          deps: Object.keys(pj.dependencies || {}) };
        if (sums.has(p)) c.sha512 = sums.get(p);
        out.push(c);
      }
      walk(path.join(p, 'node_modules'), depth + 1);
    }
  })(NM, 0);
  return out;
}

function run(cmd, args, cwd) {
  process.stdout.write('$ ' + cmd + ' ' + args.join(' ') + '\n');
  const r = cp.spawnSync(cmd, args, { cwd, stdio: ['ignore', 1, 1] });
  return r.status === null ? 1 : r.status;
}

function rmrf(p) { fs.rmSync(p, { recursive: true, force: true }); }

function main() {
  const mode = process.argv[2] || 'auto';
  const res = { manifest: null, ran: false, exit_code: 0, missing: [] };
  const imports = scan(process.argv.slice(3));
  let key, pkg = null, lock = null;
  const pjPath = path.join(ROOT, 'package.json');
  if (fs.existsSync(pjPath)) {
    res.manifest = 'package.json';
    pkg = fs.readFileSync(pjPath);
    const lp = path.join(ROOT, 'package-lock.json');
    if (fs.existsSync(lp)) lock = fs.readFileSync(lp);
    key = sha(Buffer.concat([pkg, Buffer.from('\0'), lock || Buffer.alloc(0)]));
  } else {
    const want = imports.filter((n) => !provided(n));
    if (want.length > 0) {
      const deps = {};
      for (const n of want) deps[n] = '*';
      pkg = Buffer.from(JSON.stringify({ name: 'petri-detected', version: '0.0.0', private: true, dependencies: deps }));
    }
    key = sha('auto\n' + want.join('\n'));
  }
  res.key = key;
  let have = '';
  try { have = fs.readFileSync(path.join(NM, '.petri-key'), 'utf8').trim(); } catch (e) { /* none */ }
  const unset = process.env.PETRI_REGISTRY_UNSET || '';
  if (pkg !== null && (have !== key || mode === 'only') && unset !== '') {
    // no registry is configured: npm's own default is a public host the
    // proxy refuses; say so at once instead of letting npm retry
    process.stdout.write('petri: no npm registry is configured (' + unset + '): npm did not run\n');
    res.registry_unset = unset;
    res.missing = imports.filter((n) => !provided(n));
    if (res.missing.length === 0) {
      try {
        const pj = JSON.parse(pkg.toString());
        res.missing = Object.keys(Object.assign({}, pj.dependencies, pj.devDependencies)).slice(0, 256);
      } catch (e) { /* an invalid package.json: npm would say so */ }
    }
    res.components = [];
    process.stdout.write('\n@@PETRI-DEPS@@ ' + JSON.stringify(res) + '\n');
    return;
  }
  if (pkg !== null && (have !== key || mode === 'only')) {
    res.ran = true;
    rmrf(NEW);
    fs.mkdirSync(NEW, { recursive: true });
    fs.writeFileSync(path.join(NEW, 'package.json'), pkg);
    if (lock) fs.writeFileSync(path.join(NEW, 'package-lock.json'), lock);
    const flags = ['--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=warn'];
    res.exit_code = run('npm', [lock ? 'ci' : 'install'].concat(flags), NEW);
    if (res.exit_code !== 0 && res.manifest === null) {
      // detected imports: what cannot be installed is reported missing
      process.stdout.write('installing the detected packages one by one\n');
      const want = Object.keys(JSON.parse(pkg.toString()).dependencies);
      fs.writeFileSync(path.join(NEW, 'package.json'), JSON.stringify({ name: 'petri-detected', version: '0.0.0', private: true }));
      for (const n of want) run('npm', ['install', n].concat(flags), NEW);
      res.exit_code = 0;
    }
    if (res.exit_code === 0) {
      fs.mkdirSync(path.join(NEW, 'node_modules'), { recursive: true });
      fs.writeFileSync(path.join(NEW, 'node_modules', '.petri-key'), key + '\n');
      const old = NM + '.petri-old';
      rmrf(old);
      if (fs.existsSync(NM)) fs.renameSync(NM, old);
      fs.renameSync(path.join(NEW, 'node_modules'), NM);
      rmrf(old);
    }
    rmrf(NEW);
  }
  res.missing = imports.filter((n) => !provided(n));
  res.components = inventory();
  process.stdout.write('\n@@PETRI-DEPS@@ ' + JSON.stringify(res) + '\n');
}

main();
