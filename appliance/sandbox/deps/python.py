# Petri: dependencies of a Python project (docs/deps.md).  Runs in the
# sandbox as the sandbox user, through the egress proxy.  argv[1]: "auto"
# or "only".  Manifest first (pyproject.toml, requirements.txt in the
# working directory), import detection second.  Installs into
# /sandbox/deps atomically (a new tree, renamed into place on success);
# the key of what is installed is kept in /sandbox/deps/.petri-key, so an
# unchanged manifest (or set of imports) installs nothing.  Prints the
# install log, then one line "@@PETRI-DEPS@@ {json}" with the result and
# what the installed tree holds (for the SBOM).
import ast, hashlib, importlib.metadata as md, importlib.util, json, os
import re, shutil, subprocess, sys

DEPS = "/sandbox/deps"
NEW = "/sandbox/.petri/deps.new"
MAX_FILES, MAX_BYTES = 2000, 1 << 20
SKIP = {".petri", ".git", "deps", "node_modules", "__pycache__", ".venv",
        "venv", ".cache", ".tox", "site-packages"}
# import name -> distribution, where they differ
MAP = {"cv2": "opencv-python", "sklearn": "scikit-learn", "yaml": "PyYAML",
       "PIL": "Pillow", "bs4": "beautifulsoup4", "dateutil": "python-dateutil",
       "dotenv": "python-dotenv", "jwt": "PyJWT", "Crypto": "pycryptodome",
       "attr": "attrs", "serial": "pyserial", "usb": "pyusb",
       "magic": "python-magic", "docx": "python-docx", "pptx": "python-pptx",
       "git": "GitPython", "OpenSSL": "pyOpenSSL", "skimage": "scikit-image",
       "Levenshtein": "python-Levenshtein", "mpl_toolkits": "matplotlib",
       "google": "protobuf", "jose": "python-jose", "multipart":
       "python-multipart", "slugify": "python-slugify", "telegram":
       "python-telegram-bot", "websocket": "websocket-client", "zmq": "pyzmq",
       "MySQLdb": "mysqlclient", "psycopg2": "psycopg2-binary",
       "fitz": "PyMuPDF", "sentencepiece": "sentencepiece", "Bio": "biopython",
       "tensorflow": "tensorflow", "faiss": "faiss-cpu", "umap": "umap-learn",
       "win32api": "pywin32", "ldap": "python-ldap", "nacl": "PyNaCl",
       "kafka": "kafka-python", "memcache": "python-memcached"}


def scan_imports(root, extra):
    mods, local, n = set(), set(), 0
    sources = list(extra)
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP and not x.startswith("."))
        for x in dirs:
            local.add(x)
        for f in sorted(files):
            if f.endswith(".py"):
                local.add(f[:-3])
                if n < MAX_FILES:
                    sources.append(os.path.join(d, f))
                    n += 1
    for path in sources:
        try:
            if os.path.getsize(path) > MAX_BYTES:
                continue
            tree = ast.parse(open(path, "rb").read(), path)
        except Exception:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    mods.add(a.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    std = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    return sorted(m for m in mods if m not in std and m not in local and m != "__future__")


def pyproject_deps(path):
    import tomllib
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    return list(doc.get("project", {}).get("dependencies", []))


def provided(mod):
    saved = sys.path[:]
    sys.path[:0] = [DEPS]
    try:
        return importlib.util.find_spec(mod) is not None
    except Exception:
        return False
    finally:
        sys.path[:] = saved


def inventory():
    out = []
    if not os.path.isdir(DEPS):
        return out
    for d in md.distributions(path=[DEPS]):
        m = d.metadata
        name, version = m.get("Name"), m.get("Version")
        if not name or not version:
            continue
        lic = m.get("License-Expression") or ""
        if not lic:
            cls = [c.split("::")[-1].strip() for c in (m.get_all("Classifier") or [])
                   if c.startswith("License ::") and c.count("::") >= 2]
            lic = cls[0] if len(cls) == 1 else (m.get("License") or (cls[0] if cls else ""))
        deps = []
        for r in d.requires or []:
            if "extra ==" in r:
                continue
            mm = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r)
            if mm:
                deps.append(mm.group(1))
        out.append({"eco": "pypi", "name": name, "version": version,
                    "license": lic, "deps": deps})
    return out


def vendored(path):
    """Whether a requirements file says --no-index (wheels in the project,
    found with --find-links): pip then needs no index."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(l.strip() == "--no-index" for l in f.read(MAX_BYTES).splitlines())
    except OSError:
        return False


def requirement_names(reqs, args):
    """The distribution names a manifest asks for (bounded, for the report)."""
    lines = reqs
    if args and args[0] == "-r":
        try:
            lines = open(args[1], encoding="utf-8", errors="replace").read().splitlines()[:MAX_FILES]
        except OSError:
            lines = []
    out = []
    for r in lines:
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r)
        if m and not r.lstrip().startswith("-") and m.group(1) not in out:
            out.append(m.group(1))
    return out


def pip(args):
    print("$ pip install --target /sandbox/deps " + " ".join(args), flush=True)
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-input",
                        "--disable-pip-version-check", "--no-cache-dir",
                        "--upgrade", "--target", NEW] + args,
                       stdout=sys.stdout, stderr=sys.stdout)
    return p.returncode


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "auto"
    extra = sys.argv[2:]
    res = {"manifest": None, "ran": False, "exit_code": 0, "missing": []}
    imports = scan_imports(os.getcwd(), extra)
    reqs, args = [], None
    if os.path.isfile("pyproject.toml"):
        res["manifest"] = "pyproject.toml"
        try:
            reqs = pyproject_deps("pyproject.toml")
        except Exception as e:
            print("pyproject.toml: %s" % e)
            res["exit_code"] = 1
        args = reqs
        key = hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest()
    elif os.path.isfile("requirements.txt"):
        res["manifest"] = "requirements.txt"
        args = ["-r", os.path.abspath("requirements.txt")]
        key = hashlib.sha256(open("requirements.txt", "rb").read()).hexdigest()
    else:
        reqs = sorted({MAP.get(m, m) for m in imports if not provided(m)})
        args = reqs
        key = hashlib.sha256(("auto\n" + "\n".join(reqs)).encode()).hexdigest()
    res["key"] = key
    try:
        have = open(os.path.join(DEPS, ".petri-key")).read().strip()
    except OSError:
        have = ""
    unset = os.environ.get("PETRI_REGISTRY_UNSET", "")
    if unset and res["manifest"] == "requirements.txt" and vendored("requirements.txt"):
        unset = ""  # wheels in the project: pip needs no index
    if res["exit_code"] == 0 and args and (have != key or mode == "only") and unset:
        # no index is configured: pip's own default is a public host the
        # proxy refuses; say so at once instead of letting pip retry
        print("petri: no package index is configured (%s): pip did not run" % unset)
        res["registry_unset"] = unset
        res["missing"] = [m for m in imports if not provided(m)] or requirement_names(reqs, args)
        print("\n@@PETRI-DEPS@@ " + json.dumps(res, separators=(",", ":")), flush=True)
        return
    if res["exit_code"] == 0 and args and (have != key or mode == "only"):
        res["ran"] = True
        shutil.rmtree(NEW, ignore_errors=True)
        os.makedirs(os.path.dirname(NEW), exist_ok=True)
        # what is there already stays: a new tree holds it all
        if os.path.isdir(DEPS) and res["manifest"] is None:
            shutil.copytree(DEPS, NEW, symlinks=True)
        res["exit_code"] = pip(args)
        if res["exit_code"] != 0 and res["manifest"] is None and len(args) > 1:
            # detected imports: what cannot be installed is reported
            # missing, the rest is installed one by one
            print("installing the detected packages one by one", flush=True)
            shutil.rmtree(NEW, ignore_errors=True)
            if os.path.isdir(DEPS):
                shutil.copytree(DEPS, NEW, symlinks=True)
            else:
                os.makedirs(NEW)
            res["exit_code"] = 0
            for a in args:
                pip([a])
        if res["exit_code"] == 0:
            with open(os.path.join(NEW, ".petri-key"), "w") as f:
                f.write(key + "\n")
            old = DEPS + ".old"
            shutil.rmtree(old, ignore_errors=True)
            if os.path.isdir(DEPS):
                os.rename(DEPS, old)
            os.rename(NEW, DEPS)
            shutil.rmtree(old, ignore_errors=True)
        else:
            shutil.rmtree(NEW, ignore_errors=True)
    importlib.invalidate_caches()
    res["missing"] = [m for m in imports if not provided(m)]
    res["components"] = inventory()
    sys.stdout.flush()
    print("\n@@PETRI-DEPS@@ " + json.dumps(res, separators=(",", ":")), flush=True)


main()
