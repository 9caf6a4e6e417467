// Petri: dependencies of a Java project (docs/deps.md).  Runs in the
// sandbox as the sandbox user (java Maven.java MODE), through the egress
// proxy, against the configured Maven mirror (PETRI_MAVEN_MIRROR).  Reads
// pom.xml in the working directory: its dependencies (explicit versions,
// ${properties} of that pom), then, breadth first, the compile and runtime
// dependencies of their poms (nearest wins; no parent poms, no version
// ranges).  Jars go to /sandbox/.m2/lib (a new tree renamed into place on
// success), the key of what is installed to /sandbox/.m2/.petri-key.
// Prints the log, then one line "@@PETRI-DEPS@@ {json}".
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.Authenticator;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

public class Maven {
    static final Path M2 = Path.of("/sandbox/.m2");
    static final Path NEW = Path.of("/sandbox/.petri/m2.new");
    static final int MAX_ARTIFACTS = 2000;
    static final long MAX_BYTES = 256L << 20;
    static HttpClient http;
    static String mirror;

    record Dep(String g, String a, String v, int depth) {}

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "auto";
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("manifest", null);
        res.put("ran", false);
        res.put("exit_code", 0);
        List<String> comps = new ArrayList<>();
        Path pom = Path.of("pom.xml");
        Path gradle = Files.isRegularFile(Path.of("build.gradle")) ? Path.of("build.gradle")
            : Path.of("build.gradle.kts");
        if (!Files.isRegularFile(pom) && Files.isRegularFile(gradle)) {
            // Gradle's declarations, as a pom: the same resolver
            res.put("manifest", gradle.toString());
            pom = gradle;
        } else if (Files.isRegularFile(pom))
            res.put("manifest", "pom.xml");
        if (res.get("manifest") != null) {
            byte[] pomBytes = Files.readAllBytes(pom);
            if (!pom.toString().equals("pom.xml"))
                pomBytes = gradlePom(Files.readString(pom));
            String key = hex(MessageDigest.getInstance("SHA-256").digest(pomBytes));
            String have = "";
            try {
                have = Files.readString(M2.resolve(".petri-key")).trim();
            } catch (Exception e) {
                // none
            }
            String unset = System.getenv("PETRI_REGISTRY_UNSET");
            if ((!key.equals(have) || mode.equals("only")) && unset != null && !unset.isEmpty()) {
                // no mirror is configured: say so, name what needs one
                System.out.println("petri: no Maven mirror is configured (" + unset + "): nothing was fetched");
                List<String> names = new ArrayList<>();
                for (Dep d : deps(pomBytes, true, 0))
                    if (names.size() < 256)
                        names.add(js(d.g + ":" + d.a));
                System.out.println("\n@@PETRI-DEPS@@ {\"manifest\":" + js((String) res.get("manifest"))
                    + ",\"ran\":false,\"exit_code\":0,\"registry_unset\":" + js(unset)
                    + ",\"missing\":[" + String.join(",", names) + "],\"components\":[]}");
                return;
            }
            if (!key.equals(have) || mode.equals("only")) {
                res.put("ran", true);
                int code = install(pomBytes, key);
                res.put("exit_code", code);
            }
        }
        try {
            comps = inventory();
        } catch (Exception e) {
            System.out.println("petri: cannot list the installed jars: " + e);
        }
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"manifest\":").append(res.get("manifest") == null ? "null" : js((String) res.get("manifest")));
        sb.append(",\"ran\":").append(res.get("ran"));
        sb.append(",\"exit_code\":").append(res.get("exit_code"));
        sb.append(",\"missing\":[],\"components\":[").append(String.join(",", comps)).append("]}");
        System.out.println("\n@@PETRI-DEPS@@ " + sb);
    }

    static int install(byte[] pomBytes, String key) throws Exception {
        mirror = System.getenv("PETRI_MAVEN_MIRROR");
        if (mirror == null || mirror.isEmpty()) {
            System.out.println("petri: no Maven mirror is configured (registries.maven)");
            return 1;
        }
        if (!mirror.endsWith("/"))
            mirror += "/";
        http = client();
        rmrf(NEW);
        Files.createDirectories(NEW.resolve("lib"));
        Map<String, Dep> chosen = new LinkedHashMap<>();
        ArrayDeque<Dep> queue = new ArrayDeque<>();
        for (Dep d : deps(pomBytes, true, 0))
            queue.add(d);
        StringBuilder meta = new StringBuilder();
        try {
            while (!queue.isEmpty()) {
                Dep d = queue.poll();
                String ga = d.g + ":" + d.a;
                if (chosen.containsKey(ga))
                    continue; // nearest wins
                if (chosen.size() >= MAX_ARTIFACTS)
                    throw new Exception("more than " + MAX_ARTIFACTS + " artifacts");
                chosen.put(ga, d);
                String base = d.g.replace('.', '/') + "/" + d.a + "/" + d.v + "/" + d.a + "-" + d.v;
                System.out.println("$ fetch " + d.g + ":" + d.a + ":" + d.v);
                byte[] p = fetch(base + ".pom");
                byte[] jar = fetch(base + ".jar");
                String jarName = d.g + "__" + d.a + "-" + d.v + ".jar";
                Files.write(NEW.resolve("lib").resolve(jarName), jar);
                String lic = license(p);
                meta.append(d.g).append('\t').append(d.a).append('\t').append(d.v).append('\t')
                    .append(hex(MessageDigest.getInstance("SHA-256").digest(jar))).append('\t')
                    .append(lic.replace('\t', ' ').replace('\n', ' ')).append('\n');
                for (Dep t : deps(p, false, d.depth + 1))
                    queue.add(t);
            }
        } catch (Exception e) {
            System.out.println("petri: install failed: " + e.getMessage());
            rmrf(NEW);
            return 1;
        }
        Files.writeString(NEW.resolve("petri-artifacts.tsv"), meta.toString());
        Files.writeString(NEW.resolve(".petri-key"), key + "\n");
        Path old = Path.of("/sandbox/.m2.petri-old");
        rmrf(old);
        if (Files.exists(M2))
            Files.move(M2, old);
        Files.move(NEW, M2, StandardCopyOption.ATOMIC_MOVE);
        rmrf(old);
        System.out.println("installed " + chosen.size() + " artifacts into /sandbox/.m2/lib");
        return 0;
    }

    /*
     * The dependencies a build.gradle(.kts) declares as "group:artifact:version"
     * strings (implementation, api, compileOnly, runtimeOnly, testImplementation
     * and friends), written as a pom for the resolver.  Anything else (version
     * catalogs, variables, platforms) is not understood and is said so.
     */
    static byte[] gradlePom(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
            "(?m)^\\s*(implementation|api|compileOnly|runtimeOnly|testImplementation|testRuntimeOnly)"
            + "\\s*\\(?\\s*[\"']([A-Za-z0-9._-]+):([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)[\"']").matcher(text);
        StringBuilder b = new StringBuilder("<project><dependencies>");
        int n = 0;
        while (m.find() && n < MAX_ARTIFACTS) {
            String scope = m.group(1).startsWith("test") ? "test"
                : m.group(1).equals("compileOnly") ? "provided" : "compile";
            b.append("<dependency><groupId>").append(m.group(2)).append("</groupId><artifactId>")
                .append(m.group(3)).append("</artifactId><version>").append(m.group(4))
                .append("</version><scope>").append(scope).append("</scope></dependency>");
            n++;
        }
        System.out.println("petri: " + n + " dependencies declared as \"group:artifact:version\" in the Gradle build");
        return b.append("</dependencies></project>").toString().getBytes(StandardCharsets.UTF_8);
    }

    static List<String> inventory() throws Exception {
        List<String> out = new ArrayList<>();
        Path t = M2.resolve("petri-artifacts.tsv");
        if (!Files.isRegularFile(t))
            return out;
        for (String line : Files.readAllLines(t)) {
            String[] f = line.split("\t", -1);
            if (f.length < 5)
                continue;
            out.add("{\"eco\":\"maven\",\"name\":" + js(f[0] + ":" + f[1]) + ",\"version\":" + js(f[2])
                + ",\"sha256\":" + js(f[3]) + ",\"license\":" + js(f[4]) + "}");
        }
        return out;
    }

    static HttpClient client() throws Exception {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
            .followRedirects(HttpClient.Redirect.NEVER);
        String proxy = System.getenv("HTTPS_PROXY");
        if (proxy != null && !proxy.isEmpty()) {
            URI u = URI.create(proxy);
            b.proxy(ProxySelector.of(new InetSocketAddress(u.getHost(), u.getPort())));
            String ui = u.getRawUserInfo();
            if (ui != null && ui.contains(":")) {
                String user = URLDecoder.decode(ui.substring(0, ui.indexOf(':')), StandardCharsets.UTF_8);
                String pass = URLDecoder.decode(ui.substring(ui.indexOf(':') + 1), StandardCharsets.UTF_8);
                b.authenticator(new Authenticator() {
                    @Override
                    protected PasswordAuthentication getPasswordAuthentication() {
                        return getRequestorType() == RequestorType.PROXY
                            ? new PasswordAuthentication(user, pass.toCharArray()) : null;
                    }
                });
            }
        }
        String ca = System.getenv("SSL_CERT_FILE");
        if (ca != null && Files.isRegularFile(Path.of(ca))) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            try (InputStream in = Files.newInputStream(Path.of(ca))) {
                int i = 0;
                for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in))
                    ks.setCertificateEntry("petri" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            b.sslContext(ctx);
        }
        return b.build();
    }

    static byte[] fetch(String rel) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(mirror + rel)).timeout(Duration.ofSeconds(60)).GET().build();
        HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200)
            throw new Exception(rel + ": HTTP " + r.statusCode());
        if (r.body().length > MAX_BYTES)
            throw new Exception(rel + ": too large");
        return r.body();
    }

    static Document parse(byte[] xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        f.setFeature("http://xml.org/sax/features/external-general-entities", false);
        f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
        f.setXIncludeAware(false);
        f.setExpandEntityReferences(false);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
    }

    static Element child(Element e, String name) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling())
            if (n instanceof Element && ((Element) n).getTagName().equals(name))
                return (Element) n;
        return null;
    }

    static String text(Element e, String name) {
        Element c = e == null ? null : child(e, name);
        return c == null ? null : c.getTextContent().trim();
    }

    static List<Dep> deps(byte[] pomXml, boolean top, int depth) throws Exception {
        Element root = parse(pomXml).getDocumentElement();
        Map<String, String> props = new HashMap<>();
        Element pe = child(root, "properties");
        if (pe != null)
            for (Node n = pe.getFirstChild(); n != null; n = n.getNextSibling())
                if (n instanceof Element)
                    props.put(((Element) n).getTagName(), n.getTextContent().trim());
        if (text(root, "version") != null)
            props.put("project.version", text(root, "version"));
        List<Dep> out = new ArrayList<>();
        Element ds = child(root, "dependencies");
        if (ds == null)
            return out;
        for (Node n = ds.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (!(n instanceof Element) || !((Element) n).getTagName().equals("dependency"))
                continue;
            Element d = (Element) n;
            String scope = text(d, "scope");
            if (scope == null)
                scope = "compile";
            if ("true".equals(text(d, "optional")) && !top)
                continue;
            if (!top && !(scope.equals("compile") || scope.equals("runtime")))
                continue;
            if (scope.equals("system") || scope.equals("import"))
                continue;
            String g = subst(text(d, "groupId"), props), a = subst(text(d, "artifactId"), props);
            String v = subst(text(d, "version"), props);
            if (g == null || a == null || v == null || !ok(g) || !ok(a) || !ok(v))
                throw new Exception("a dependency without an explicit groupId, artifactId and version ("
                    + g + ":" + a + ":" + v + "): not supported");
            out.add(new Dep(g, a, v, depth));
        }
        return out;
    }

    static String subst(String s, Map<String, String> props) {
        if (s == null)
            return null;
        for (int i = 0; i < 8 && s.contains("${"); i++) {
            int b = s.indexOf("${"), e = s.indexOf('}', b);
            if (e < 0)
                return null;
            String v = props.get(s.substring(b + 2, e));
            if (v == null)
                return null;
            s = s.substring(0, b) + v + s.substring(e + 1);
        }
        return s.contains("${") ? null : s;
    }

    static boolean ok(String s) {
        return s.matches("[A-Za-z0-9._-]{1,128}") && !s.contains("..");
    }

    static String license(byte[] pomXml) {
        try {
            Element ls = child(parse(pomXml).getDocumentElement(), "licenses");
            Element l = ls == null ? null : child(ls, "license");
            String n = text(l, "name");
            return n == null ? "" : n;
        } catch (Exception e) {
            return "";
        }
    }

    static String js(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\')
                b.append('\\').append(c);
            else if (c < 0x20)
                b.append(String.format("\\u%04x", (int) c));
            else
                b.append(c);
        }
        return b.append('"').toString();
    }

    static String hex(byte[] d) {
        StringBuilder b = new StringBuilder();
        for (byte x : d)
            b.append(String.format("%02x", x & 0xff));
        return b.toString();
    }

    static void rmrf(Path p) throws Exception {
        if (!Files.exists(p))
            return;
        try (var s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        }
    }
}
