"""A PEP 517 / PEP 660 build backend using only the standard library.

Debian 12's setuptools cannot build a wheel without the separate `wheel`
package, which a fresh virtual environment does not have; this backend
needs nothing, so `pip install --no-index --no-build-isolation` works on a
locked-down host.  It packs src/petri/ into a pure-Python wheel, an sdist,
or an editable wheel (a .pth file naming src/).  Metadata comes from
pyproject.toml's [project] table.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "petri"
WHEEL_TAG = "py3-none-any"


def _toml_project(text):
    """The [project] table of our pyproject.toml: tomllib where Python has
    it (3.11+), else a reader for the forms the file uses (key = "string",
    key = [list of strings])."""
    try:
        import tomllib
    except ImportError:
        tomllib = None
    if tomllib is not None:
        return tomllib.loads(text)["project"]
    out, table, key, items = {}, None, None, None
    for line in text.splitlines():
        line = line.split(" #")[0].strip() if not line.lstrip().startswith("#") else ""
        if not line:
            continue
        if items is not None:
            if line.startswith("]"):
                out[key], items = items, None
            else:
                items.append(_toml_str(line.rstrip(",")))
            continue
        if line.startswith("["):
            table = line.strip("[] ")
            continue
        if table != "project":
            continue
        key, _, val = (s.strip() for s in line.partition("="))
        if val == "[]":
            out[key] = []
        elif val.startswith("[") and val.endswith("]"):
            out[key] = [_toml_str(v) for v in val[1:-1].split(",") if v.strip()]
        elif val.startswith("["):
            items = []
        else:
            out[key] = _toml_str(val)
    return out


def _toml_str(s):
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"' or "\\" in s:
        raise ValueError("pyproject.toml: unsupported value %r" % s)
    return s[1:-1]


def _project():
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        return _toml_project(f.read())


def _dist_name(p):
    return re.sub(r"[-_.]+", "_", p["name"]).lower()


def _metadata(p):
    lines = [
        "Metadata-Version: 2.1",
        "Name: %s" % p["name"],
        "Version: %s" % p["version"],
        "Summary: %s" % p.get("description", ""),
        "License: %s" % p.get("license", ""),
        "Requires-Python: %s" % p.get("requires-python", ""),
    ]
    lines += ["Classifier: %s" % c for c in p.get("classifiers", [])]
    lines += ["Requires-Dist: %s" % d for d in p.get("dependencies", [])]
    body = ""
    if p.get("readme"):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(HERE, p["readme"]), encoding="utf-8") as f:
            body = f.read()
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def _wheel_file():
    return ("Wheel-Version: 1.0\nGenerator: petri_build\nRoot-Is-Purelib: true\n"
            "Tag: %s\n" % WHEEL_TAG).encode()


def _sources():
    """(archive name, absolute path) of every file of the package."""
    root = os.path.join(HERE, "src", PACKAGE)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for n in sorted(filenames):
            if n.endswith((".py", ".typed")):
                full = os.path.join(dirpath, n)
                out.append((os.path.relpath(full, os.path.join(HERE, "src"))
                            .replace(os.sep, "/"), full))
    return out


def _epoch():
    t = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    return time.gmtime(max(t, 315532800))[:6]


def _write_wheel(directory, files):
    """files: list of (archive name, bytes), dist-info last but RECORD."""
    p = _project()
    dist = "%s-%s" % (_dist_name(p), p["version"])
    info = dist + ".dist-info/"
    files = files + [(info + "METADATA", _metadata(p)), (info + "WHEEL", _wheel_file()),
                     (info + "top_level.txt", (PACKAGE + "\n").encode())]
    record = []
    for name, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append("%s,sha256=%s,%d" % (name, digest.decode(), len(data)))
    record.append(info + "RECORD,,")
    files.append((info + "RECORD", ("\n".join(record) + "\n").encode()))
    wheel = "%s-%s.whl" % (dist, WHEEL_TAG)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, wheel + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            zi = zipfile.ZipInfo(name, _epoch())
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    os.replace(tmp, os.path.join(directory, wheel))
    return wheel


def _metadata_dir(directory):
    p = _project()
    info = "%s-%s.dist-info" % (_dist_name(p), p["version"])
    os.makedirs(os.path.join(directory, info), exist_ok=True)
    for name, data in (("METADATA", _metadata(p)), ("WHEEL", _wheel_file())):
        with open(os.path.join(directory, info, name), "wb") as f:
            f.write(data)
    return info


# --- PEP 517 ---------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _metadata_dir(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for name, full in _sources():
        with open(full, "rb") as f:
            files.append((name, f.read()))
    return _write_wheel(wheel_directory, files)


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = "%s-%s" % (_dist_name(p), p["version"])
    names = ["pyproject.toml", "README.md", "build_backend/petri_build.py"]
    names += ["src/" + n for n, _ in _sources()]
    os.makedirs(sdist_directory, exist_ok=True)
    out = os.path.join(sdist_directory, base + ".tar.gz")
    mtime = time.mktime(_epoch() + (0, 0, -1))

    def add(t, name, data):
        ti = tarfile.TarInfo("%s/%s" % (base, name))
        ti.size, ti.mode, ti.mtime = len(data), 0o644, mtime
        t.addfile(ti, io.BytesIO(data))

    with tarfile.open(out + ".tmp", "w:gz", format=tarfile.PAX_FORMAT) as t:
        for n in names:
            with open(os.path.join(HERE, n), "rb") as f:
                add(t, n, f.read())
        add(t, "PKG-INFO", _metadata(p))
    os.replace(out + ".tmp", out)
    return base + ".tar.gz"


# --- PEP 660 -----------------------------------------------------------------

def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _metadata_dir(metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = (os.path.join(HERE, "src") + "\n").encode()
    return _write_wheel(wheel_directory, [("__editable__.petri_sdk.pth", pth)])
