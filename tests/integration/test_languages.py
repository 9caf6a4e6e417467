"""A multi-file project in each language: a module imported from a
subfolder, run with "filename" and with "command"."""
from harness import check

PROJECTS = {
    "python": ([("main.py", "from lib.greet import hello\nprint(hello('py'))\n"),
                ("lib/__init__.py", ""), ("lib/greet.py", "def hello(n):\n    return 'hello ' + n\n")],
               "main.py", "hello py\n"),
    "node": ([("main.js", "const g = require('./lib/greet');\nconsole.log(g.hello('node'));\n"),
              ("lib/greet.js", "exports.hello = n => 'hello ' + n;\n")],
             "main.js", "hello node\n"),
    "go": ([("go.mod", "module example.test/app\n\ngo 1.19\n"),
            ("main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"example.test/app/greet\"\n)\n\n"
                        "func main() { fmt.Println(greet.Hello(\"go\")) }\n"),
            ("greet/greet.go", "package greet\n\nfunc Hello(n string) string { return \"hello \" + n }\n")],
           "main.go", "hello go\n"),
    "java": ([("Main.java", "import util.Greet;\n\npublic class Main {\n  public static void main(String[] a) "
                            "{ System.out.println(Greet.hello(\"java\")); }\n}\n"),
              ("util/Greet.java", "package util;\n\npublic class Greet {\n  public static String hello(String n) "
                                  "{ return \"hello \" + n; }\n}\n")],
             "Main.java", "hello java\n"),
}


def _run(p, lang):
    files, main, want = PROJECTS[lang]
    sb = p.sandbox(lang)
    try:
        r = p.upload(sb, [(n, c.encode()) for n, c in files])
        check(r.status == 201, r)
        d = p.exec(sb, filename=main, timeout_ms=120000).json()
        check(d["exit_code"] == 0 and d["stdout"] == want, "%s: %r" % (lang, d))
    finally:
        p.delete(sb)


def test_python_project(p):
    _run(p, "python")


def test_node_project(p):
    _run(p, "node")


def test_go_project(p):
    _run(p, "go")


def test_java_project(p):
    _run(p, "java")


def test_code_each_language(p):
    snippets = {"python": "print('ok')", "node": "console.log('ok')",
                "go": "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"ok\") }\n",
                "java": "public class Hi { public static void main(String[] a) { System.out.println(\"ok\"); } }"}
    for lang, code in snippets.items():
        sb = p.sandbox(lang)
        try:
            d = p.exec(sb, code=code, timeout_ms=120000).json()
            check(d["stdout"] == "ok\n", "%s: %r" % (lang, d))
        finally:
            p.delete(sb)
