"""Makes data.tar.gz: a data directory written by an earlier release of
petrid (the commit given as argv[1], built with `make` in a worktree at
argv[2]), for test_upgrade.  Run from the repository root as root:

    git worktree add /tmp/petri-prev COMMIT && make -C /tmp/petri-prev all
    python3 tests/data/prev-release/make.py COMMIT /tmp/petri-prev

What it holds: one sandbox that ran one command, one policy, the audit
log (signing key included: a test key of this fixture only), the vault.
Workspace disks are left out (the sandbox's workspace is empty)."""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "integration"))
import harness  # noqa: E402

commit, tree = sys.argv[1], sys.argv[2]
harness.BUILD = os.path.join(tree, "build")
p = harness.Petri().start()
try:
    sb = p.sandbox()
    j = p.exec(sb, command="echo from-the-previous-release").json()
    assert j["stdout"] == "from-the-previous-release\n", j
    assert p.request("PUT", "/v1/policies/kept", {"default": "deny", "allow": []}).status == 201
    p.stop()
    out = os.path.join(os.path.dirname(__file__), "data.tar.gz")
    with tarfile.open(out, "w:gz") as t:
        for name in ("instance", "admin.token", "api", "keeper"):
            t.add(os.path.join(p.data, name), arcname=name)
    with open(os.path.join(os.path.dirname(__file__), "source.json"), "w") as f:
        json.dump({"commit": commit, "sandbox": sb["id"], "exec_seq": j["audit"]["seq"]}, f)
        f.write("\n")
finally:
    p.cleanup()
