"""A newer petrid opens a data directory written by an earlier release
(issue 14): tests/data/prev-release/data.tar.gz, made by make.py there
from the commit in source.json.  Schemas migrate in place (PRAGMA
user_version steps in api/state.db, keeper/audit.db, keeper/vault/vault.db;
no version went backwards); the old records still verify, the old sandbox
and policy are there, and the log goes on from where the old release left
it.  (No schema changed since that release: no migration step runs yet;
a release that adds one regenerates the fixture with make.py.)"""
import json
import os
import pwd
import subprocess
import tarfile

from harness import BUILD, ROOT, Petri, check

FIXTURE = os.path.join(ROOT, "tests", "data", "prev-release")


def _chown_tree(top, user):
    pw = pwd.getpwnam(user)
    for d, dirs, files in os.walk(top):
        os.chown(d, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(d, f), pw.pw_uid, pw.pw_gid)


def _user_version(path):
    import sqlite3
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_opens_previous_release_data_own():
    with open(os.path.join(FIXTURE, "source.json")) as f:
        src = json.load(f)
    p = Petri()
    try:
        os.makedirs(p.data)
        with tarfile.open(os.path.join(FIXTURE, "data.tar.gz")) as t:
            t.extractall(p.data)
        # the fixture's owners are another host's ids: this host's users
        _chown_tree(os.path.join(p.data, "api"), "_petri_api")
        _chown_tree(os.path.join(p.data, "keeper"), "_petri_kpr")
        before = {n: _user_version(os.path.join(p.data, n)) for n in
                  ("api/state.db", "keeper/audit.db", "keeper/vault/vault.db")}
        p.start()
        check(p.request("GET", "/v1/sandboxes/%s" % src["sandbox"]).status == 200)
        check(p.request("GET", "/v1/policies/kept").status == 200)
        old = json.loads(p.request("GET", "/v1/audit/records/%d" % src["exec_seq"])
                         .json()["record"])
        check(old["type"] == "exec.finished", old)
        sb = p.sandbox()
        j = p.exec(sb, command="echo on-the-new-release").json()
        check(j["stdout"] == "on-the-new-release\n" and j["audit"]["seq"] > src["exec_seq"], j)
        code, out = p.verify(p.request("GET", "/v1/audit/export").body)
        check(code == 0, out)
        p.stop()
        after = {n: _user_version(os.path.join(p.data, n)) for n in before}
        check(all(after[n] >= before[n] for n in before), (before, after))
    finally:
        p.cleanup()


def test_migrates_older_schemas_own():
    """The fixture taken back one schema version (state.db before the
    policies table, audit.db before the leaf index): this petrid migrates
    both and records each migration."""
    import sqlite3
    p = Petri()
    try:
        os.makedirs(p.data)
        with tarfile.open(os.path.join(FIXTURE, "data.tar.gz")) as t:
            t.extractall(p.data)
        for path, sql in (("api/state.db", "DROP TABLE policies; PRAGMA user_version = 1"),
                          ("keeper/audit.db", "DROP INDEX records_leaf; PRAGMA user_version = 1")):
            db = sqlite3.connect(os.path.join(p.data, path))
            db.executescript(sql)
            db.close()
        _chown_tree(os.path.join(p.data, "api"), "_petri_api")
        _chown_tree(os.path.join(p.data, "keeper"), "_petri_kpr")
        p.start()
        recs = [json.loads(x["record"]) for x in
                p.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]]
        started = [r for r in recs if r["type"] == "log.started"]
        sc = started[-1].get("schema") or {}
        check(sc.get("from") == 1 and sc.get("to", 0) >= 2, started[-1])
        check(all("schema" not in r for r in started[:-1]), started)
        mig = [r for r in recs if r["type"] == "api.schema_migrated"]
        check(len(mig) == 1 and mig[0]["db"] == "state.db" and mig[0]["from"] == 1 and
              mig[0]["to"] >= 2, mig)
        # the migrated tables work
        check(p.request("PUT", "/v1/policies/again", {"default": "deny", "allow": []}).status
              == 201)
        code, out = p.verify(p.request("GET", "/v1/audit/export").body)
        check(code == 0, out)
        # the next start migrates nothing and records nothing more
        p.restart()
        recs = [json.loads(x["record"]) for x in
                p.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]]
        check(len([r for r in recs if r["type"] == "api.schema_migrated"]) == 1)
        check("schema" not in [r for r in recs if r["type"] == "log.started"][-1])
    finally:
        p.cleanup()
