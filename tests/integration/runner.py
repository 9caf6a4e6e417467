"""Runs the integration scenarios.  Each test_*.py module holds functions
test_*(p) taking a shared Petri instance (started once), or test_*_own()
functions that start their own.  Prints one line per test and a final
"integration: N passed, N failed"."""
import importlib.util
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# the shared instance keeps a small warm pool, so scenarios run on claimed
# sandboxes as well as on new ones
SHARED_CONFIG = {"pool": {"python": 2}}


def main(argv):
    only = argv[1:]
    mods = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    passed = failed = 0
    shared = None
    try:
        shared = harness.Petri(config=SHARED_CONFIG).start()
    except Exception as e:  # noqa: BLE001
        print("FAIL harness: cannot start petrid: %s" % e)
        print("integration: 0 passed, 1 failed")
        return 1
    try:
        for m in mods:
            spec = importlib.util.spec_from_file_location(m[:-3], os.path.join(HERE, m))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            for name in sorted(n for n in dir(mod) if n.startswith("test_")):
                full = "%s.%s" % (m[:-3], name)
                if only and not any(o in full for o in only):
                    continue
                fn = getattr(mod, name)
                t0 = time.time()
                try:
                    if name.endswith("_own"):
                        fn()
                    else:
                        fn(shared)
                    passed += 1
                    print("PASS %s (%.1fs)" % (full, time.time() - t0), flush=True)
                except Exception:  # noqa: BLE001
                    failed += 1
                    print("FAIL %s (%.1fs)\n%s" % (full, time.time() - t0,
                                                 traceback.format_exc()), flush=True)
                    if shared.proc is None or shared.proc.poll() is not None:
                        print("petrid died; log tail:\n" + shared.logtext())
                        shared.cleanup()
                        shared = harness.Petri(config=SHARED_CONFIG).start()
    finally:
        if shared is not None:
            if failed:
                print("---- petrid log tail ----\n" + shared.logtext())
            shared.cleanup()
    if harness.SANITIZER_FINDINGS:
        failed += 1
        print("FAIL sanitizer findings in petrid's logs:\n" +
              "\n".join(harness.SANITIZER_FINDINGS[:40]))
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
