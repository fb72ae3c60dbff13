#!/usr/bin/env python3
"""The documentation says what the code does (issue 13, point 9).

  tests/host/docs_check.py BUILD_DIR SOURCE_DIR

1. Every configuration in the README (a fenced block with a [daemon], [conn]
   or [child] section), in xiked.conf(5)'s EXAMPLES and doc/xiked.conf.example
   loads in the daemon's parser (tests/host/conf_check, config_load as at
   start-up). The files an example names (cert, key, cacert, remote_pubkey,
   psk_file) are made next to it: an ECDSA test CA and certificates for the
   section's local_id (openssl), keys, key files.
2. tests/vm/scenarios/deployed.sh runs the README's site-to-site example as
   written: each of its readme_* configurations is in a README block.
3. Every control command the daemon answers (daemon/control.c) is in
   xikectl's usage text, has an item in xikectl(8) COMMANDS, and is named
   in xiked(8) and in the README.
4. Every member the status response can hold (the JSON keys written by the
   functions the status handler reaches, daemon/*.c) is listed in
   xiked.conf(5), CONTROL PROTOCOL.
5. The README's Install package list is tools/setup's build_pkgs.
Prints one line per check; exit status 1 if any failed.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

build, src = (os.path.abspath(a) for a in sys.argv[1:3])
failed = 0


def ok(msg):
    print("ok   " + msg)


def bad(msg):
    global failed
    failed += 1
    print("FAIL " + msg)


def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


SECTION = re.compile(r"^\[(daemon\]|conn |child )", re.M)


def readme_blocks():
    return [b for b in re.findall(r"^```[a-z]*\n(.*?)^```", read("README.md"), re.S | re.M)
            if SECTION.search(b)]


def roff_text(line):
    for a, b in (("\\-", "-"), ("\\(dq", '"'), ("\\(aq", "'"), ("\\e", "\\"), ("\\&", "")):
        line = line.replace(a, b)
    return line


def man_section(page, title):
    """Lines of section .SH title of doc/page, up to the next .SH."""
    lines = read("doc/" + page).split("\n")
    out, inside = [], False
    for line in lines:
        if line.startswith(".SH"):
            inside = line[3:].strip().strip('"') == title
            continue
        if inside:
            out.append(line)
    return out


def man_examples(page):
    blocks, cur = [], None
    for line in man_section(page, "EXAMPLES"):
        if line.startswith(".nf"):
            cur = []
        elif line.startswith(".fi") and cur is not None:
            text = "\n".join(cur) + "\n"
            if SECTION.search(text):
                blocks.append(text)
            cur = None
        elif cur is not None and not line.startswith("."):
            cur.append(roff_text(line))
    return blocks


# ---- 1. configurations through the parser

def sections(text):
    """[(header, {key: value})] of an INI text, comments removed."""
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            out.append((s, {}))
            continue
        if "=" in s and out:
            k, v = s.split("=", 1)
            v = re.sub(r"\s#.*$", "", v).strip()
            if v.startswith('"'):
                v = v[1:v.rfind('"')]
            out[-1][1][k.strip()] = v
    return out


def run(*cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env=dict(os.environ, OPENSSL_CONF="/dev/null"))


def make_files(text, d):
    """Makes every file the configuration names, in d (its directory)."""
    def ecdsa_key(path):
        if not os.path.exists(path):
            run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", path)
            os.chmod(path, 0o600)

    ca_key = os.path.join(d, ".ca.key")
    ca_crt = os.path.join(d, ".ca.crt")
    if not os.path.exists(ca_crt):
        ecdsa_key(ca_key)
        run("openssl", "req", "-x509", "-new", "-key", ca_key, "-subj", "/O=xiked docs/CN=docs CA",
            "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", ca_crt)
    for header, kv in sections(text):
        path = lambda v: v if os.path.isabs(v) else os.path.join(d, v)
        if "psk_file" in kv and not os.path.exists(path(kv["psk_file"])):
            with open(path(kv["psk_file"]), "w") as f:
                f.write(os.urandom(24).hex() + "\n")
            os.chmod(path(kv["psk_file"]), 0o600)
        for c in [x.strip() for x in kv.get("cacert", "").split(",") if x.strip()]:
            if not os.path.exists(path(c)):
                shutil.copy(ca_crt, path(c))
        if "key" in kv:
            ecdsa_key(path(kv["key"]))
        if "cert" in kv and not os.path.exists(path(kv["cert"])):
            lid = kv.get("local_id", "")
            if "=" in lid:  # a DN: it is the subject
                subj, san = "/" + "/".join(p.strip() for p in lid.split(",")), None
            else:
                subj = "/O=xiked docs/CN=" + (lid or "host")
                if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:.]*", lid):
                    san = "IP:" + lid
                elif "@" in lid:
                    san = "email:" + lid
                else:
                    san = "DNS:" + (lid.lstrip("@") or "host.example")
            csr = os.path.join(d, ".csr")
            run("openssl", "req", "-new", "-key", path(kv["key"]), "-subj", subj, "-out", csr)
            ext = os.path.join(d, ".ext")
            with open(ext, "w") as f:
                f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n")
                if san:
                    f.write("subjectAltName=%s\n" % san)
            run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
                "-set_serial", str(len(os.listdir(d)) + 2), "-days", "30", "-extfile", ext,
                "-out", path(kv["cert"]))
        if "remote_pubkey" in kv and not os.path.exists(path(kv["remote_pubkey"])):
            k = os.path.join(d, ".peer.key")
            ecdsa_key(k)
            run("openssl", "pkey", "-in", k, "-pubout", "-out", path(kv["remote_pubkey"]))
            os.remove(k)


def check_configs(tmp):
    conf_check = os.path.join(build, "tests", "host", "conf_check")
    examples = [("README.md", b) for b in readme_blocks()]
    examples += [("xiked.conf(5) EXAMPLES", b) for b in man_examples("xiked.conf.5")]
    examples.append(("doc/xiked.conf.example", read("doc/xiked.conf.example")))
    n = len([e for e in examples if e[0] == "README.md"])
    if n < 7:
        bad("README.md: only %d configuration blocks found (7 or more expected: site-to-site, "
            "roaming and route-based on both sides, certificates)" % n)
    for i, (where, text) in enumerate(examples):
        d = os.path.join(tmp, "ex%d" % i)
        os.mkdir(d)
        conf = os.path.join(d, "xiked.conf")
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o600)
        first = next((l for l in text.split("\n") if l.startswith("[conn")), text.split("\n")[0])
        try:
            make_files(text, d)
        except subprocess.CalledProcessError as e:
            bad("%s, block %s: making its files failed: %s" % (where, first, e.stderr.decode()))
            continue
        r = subprocess.run([conf_check, conf], capture_output=True, text=True)
        if r.returncode == 0:
            ok("%s: %s loads" % (where, first))
        else:
            bad("%s: %s does not load: %s" % (where, first, (r.stdout + r.stderr).strip()))


# ---- 2. deployed.sh runs the README's example

def check_deployed():
    text = read("tests/vm/scenarios/deployed.sh")
    confs = re.findall(r"^(readme_\w+)\(\) \{\n  cat <<'EOF'\n(.*?)^EOF\n", text, re.S | re.M)
    if not confs:
        bad("tests/vm/scenarios/deployed.sh: no readme_* configuration found")
    blocks = readme_blocks()
    for name, conf in confs:
        if any(conf in b for b in blocks):
            ok("deployed.sh %s is in the README as written" % name)
        else:
            bad("deployed.sh %s is not a README block as written" % name)


# ---- 3. commands

def check_commands():
    cmds = sorted(set(re.findall(r'strcmp\(cmd, "([a-z][a-z_-]*)"\)', read("daemon/control.c"))))
    if len(cmds) < 5:
        bad("daemon/control.c: found only commands %s (the pattern strcmp(cmd, \"...\") changed? "
            "update tests/host/docs_check.py)" % cmds)
    usage = subprocess.run([os.path.join(build, "tools", "xikectl"), "--help"],
                           capture_output=True, text=True).stdout
    items = "\n".join(man_section("xikectl.8", "COMMANDS"))
    xiked8 = read("doc/xiked.8")
    readme = read("README.md")
    for c in cmds:
        where = []
        if not re.search(r"\b%s\b" % re.escape(c), usage):
            where.append("xikectl --help")
        if not re.search(r'^\.(B|BI|BR) "?%s\b' % re.escape(c.replace("-", "\\-")), items, re.M):
            where.append("xikectl(8) COMMANDS")
        if not re.search(r"^\.B %s\b" % re.escape(c.replace("-", "\\-")), xiked8, re.M):
            where.append("xiked(8)")
        if not re.search(r"`(xikectl )?%s\b" % re.escape(c), readme):
            where.append("README.md")
        if where:
            bad("command %s missing in %s" % (c, ", ".join(where)))
        else:
            ok("command %s: in xikectl --help, xikectl(8), xiked(8), README" % c)


# ---- 4. status members

def c_functions():
    """{name: (parameters, body)} of every function defined in daemon/*.c (not the JSON
    writer itself, json.c: its members are the callers')."""
    funcs = {}
    for path in sorted(glob.glob(os.path.join(src, "daemon", "*.c"))):
        if os.path.basename(path) == "json.c":
            continue
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^[a-z][^\n;]*?\b(\w+)\(([^;{]*?)\)\n\{\n(.*?)^\}", text, re.S | re.M):
            funcs.setdefault(m.group(1), (m.group(2), m.group(3)))
    return funcs


def check_status_members():
    funcs = c_functions()
    if "ctl_status" not in funcs:
        bad("daemon/main.c: no ctl_status (the status handler moved? update docs_check.py)")
        return
    # From the status handler, every function with a json_writer parameter it reaches.
    seen, todo = set(), ["ctl_status"]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for callee in re.findall(r"\b(\w+)\(", funcs[f][1]):
            if callee in funcs and "json_writer" in funcs[callee][0]:
                todo.append(callee)
    keys = set()
    for f in seen:
        keys |= set(re.findall(r'\b\w+\(\s*\w+\s*,\s*"([a-z][a-z0-9_]*)"', funcs[f][1]))
    doc = man_section("xiked.conf.5", "CONTROL PROTOCOL")
    documented = set()
    for line in doc:
        line = roff_text(line)
        documented |= set(re.findall(r'"([a-z][a-z0-9_]*)"', line))
        if "\t" in line:  # a table row: its first column names members
            documented |= set(re.findall(r"[a-z][a-z0-9_]*", line.split("\t")[0].replace("\\0", "")))
        if re.match(r"\.B[RI]* ", line):
            documented |= set(re.findall(r"[a-z][a-z0-9_]*", line))
    if len(keys) < 40:
        bad("status: only %d members found in %s" % (len(keys), sorted(seen)))
    missing = sorted(keys - documented)
    if missing:
        bad("status members not in xiked.conf(5) CONTROL PROTOCOL: %s" % ", ".join(missing))
    else:
        ok("status: all %d members written by %s are in xiked.conf(5) CONTROL PROTOCOL"
           % (len(keys), ", ".join(sorted(seen))))


# ---- 5. the README's build dependencies

def check_packages():
    m = re.search(r"^build_pkgs=\((.*?)^\)", read("tools/setup"), re.S | re.M)
    setup = set(re.sub(r"#.*", "", m.group(1)).split()) if m else set()
    m = re.search(r"^## Install.*?```\n(apt-get install .*?)```", read("README.md"), re.S | re.M)
    readme = set(m.group(1).replace("\\", " ").split()[2:]) if m else set()
    if setup and setup == readme:
        ok("README Install lists tools/setup's %d build packages" % len(setup))
    else:
        bad("README Install packages differ from tools/setup build_pkgs: only in README %s, "
            "only in tools/setup %s" % (sorted(readme - setup), sorted(setup - readme)))


tmp = tempfile.mkdtemp()
try:
    check_configs(tmp)
    check_deployed()
    check_commands()
    check_status_members()
    check_packages()
finally:
    shutil.rmtree(tmp)
sys.exit(1 if failed else 0)
