#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""hotport installed as a library: `meson install` into a temporary
directory, then, from the installed files only (no path into the source
or build tree): every installed header compiles alone, the examples build
with `pkg-config --cflags --libs hotport`, the embedding primary
(examples/primary_embed.c) serves the forwarding secondary
(examples/secondary_fwd.c) and the installed hotport-secondary, and the
man pages render.

Regression test: the installed headers included hp_config.h, which was
not installed, so no program outside the tree could compile against them;
the export map exported everything named hp_* (hp_port_init, hp_dl_load);
there were no man pages."""
import os
import re
import shutil
import subprocess
import tempfile

import hp

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
MESON = os.environ.get("MESON", "meson")
# Headers in the tree that must not be installed (doc/design.md).
INTERNAL = {"hp_dl.h", "hp_port_driver.h", "hp_port_internal.h"}
TOOLS = ("cc", "pkg-config", "readelf")


def sh(args, **kw):
    """Runs args; fails with its output unless it exits 0."""
    r = subprocess.run(args, capture_output=True, text=True, timeout=120 * hp.SLOW, **kw)
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                                   r.stdout, r.stderr))
    return r.stdout


def find(root, name):
    """The one installed file called name, under root."""
    hits = [os.path.join(d, name) for d, _, files in os.walk(root) if name in files]
    hp.check(len(hits) == 1, "%s installed %d times: %s" % (name, len(hits), hits))
    return hits[0]


class Installed:
    """A `meson install --destdir` of the build; pkg-config points at it
    (PKG_CONFIG_PATH to its .pc, PKG_CONFIG_SYSROOT_DIR to the destdir,
    so the .pc's own prefix stays /usr/local or whatever was configured)."""

    def __init__(self, tmp):
        self.root = os.path.join(tmp, "dest")
        sh([MESON, "install", "-C", hp.BUILD, "--no-rebuild", "--quiet",
            "--destdir", self.root])
        self.pc = find(self.root, "hotport.pc")
        self.lib = find(self.root, "libhotport.so.0")
        self.libdir = os.path.dirname(self.lib)
        self.incdir = os.path.dirname(find(self.root, "hp_port.h"))
        self.bindir = os.path.dirname(find(self.root, "hotport-secondary"))
        self.env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(self.pc),
                        PKG_CONFIG_SYSROOT_DIR=self.root,
                        PKG_CONFIG_LIBDIR=os.path.dirname(self.pc))
        self.flags = sh(["pkg-config", "--cflags", "--libs", "hotport"],
                        env=self.env).split()
        # A sanitized library needs its runtime in the program too.
        san = os.environ.get("HOTPORT_SANITIZE", "none")
        self.san = [] if san == "none" else ["-fsanitize=" + san]

    def cc(self, out, src, *extra):
        sh(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror"] + self.san + list(extra) +
           ["-o", out, src] + self.flags, env=self.env)


def test_installed_files(inst, tmp):
    """soname, links, apps, pc flags, and which headers."""
    dyn = sh(["readelf", "-d", inst.lib])
    hp.check("[libhotport.so.0]" in dyn, "soname is not libhotport.so.0:\n" + dyn)
    for link in ("libhotport.so", "libhotport.so.0"):
        path = os.path.join(inst.libdir, link)
        hp.check(os.path.islink(path), "%s is not a symlink" % path)
    hp.check(re.search(r"libhotport\.so\.0\.\d+\.\d+$", os.path.realpath(inst.lib)),
             "libhotport.so.0 points at %s" % os.path.realpath(inst.lib))
    for app in ("hotport-primary", "hotport-secondary"):
        hp.check(os.access(os.path.join(inst.bindir, app), os.X_OK), app + " not installed")
    hp.check(any(f.startswith("-I" + inst.root) for f in inst.flags) and "-lhotport" in inst.flags,
             "pkg-config gives %s" % inst.flags)
    hp.check(not any(SRC in f or hp.BUILD in f for f in inst.flags),
             "pkg-config points into the tree: %s" % inst.flags)
    headers = set(os.listdir(inst.incdir))
    hp.check("hp_config.h" in headers, "hp_config.h not installed: %s" % sorted(headers))
    hp.check(not headers & INTERNAL, "internal headers installed: %s" % sorted(headers & INTERNAL))


def test_headers_alone(inst, tmp):
    """Each installed header compiles alone, as C11 (the *_core.h ones
    are included through their main header and refuse to be alone)."""
    for h in sorted(os.listdir(inst.incdir)):
        if h.endswith("_core.h"):
            continue
        src = os.path.join(tmp, "chk_" + h + ".c")
        with open(src, "w") as f:
            f.write("#include <%s>\n" % h)
        sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", src] +
           [f for f in inst.flags if f.startswith("-I")], env=inst.env)


def maps_lib(pid):
    with open("/proc/%d/maps" % pid) as f:
        return [l.split()[-1] for l in f if "libhotport.so" in l]


def test_examples(inst, tmp):
    """The examples, built from the installed files only, run: the
    embedding primary serves the forwarding secondary and the installed
    hotport-secondary, and stops on SIGTERM."""
    exe = {}
    for name in ("primary_embed", "secondary_fwd"):
        exe[name] = os.path.join(tmp, name)
        inst.cc(exe[name], os.path.join(SRC, "examples", name + ".c"))
        needed = sh(["readelf", "-d", exe[name]])
        hp.check("[libhotport.so.0]" in needed, name + " does not need libhotport.so.0")
    os.environ["LD_LIBRARY_PATH"] = inst.libdir
    for name in exe:
        # one usage line on stdout (it came on stderr after an empty line)
        st, out, err, _ = hp.run(exe[name], "--help")
        hp.check(st == 0 and not err and out.startswith("usage: ") and out.count("\n") == 1,
                 "%s --help: exit status %d %r %r" % (name, st, out, err))
    pfx = hp.prefix("install")
    with hp.Cleanup() as c:
        prim = c.add(hp.Proc(exe["primary_embed"], ["--file-prefix", pfx] + hp.mem_args(),
                             name="primary_embed"))
        m = prim.wait_for(r"primary_embed ready: pid \d+, prefix %s, port (\d+) attached" % pfx,
                          timeout=20 * hp.SLOW)
        embed_port = int(m.group(1))
        libs = maps_lib(prim.pid)
        hp.check(libs and all(l.startswith(inst.libdir) for l in libs),
                 "primary_embed maps %s, not the installed library" % libs)

        st, out, err, _ = hp.run(exe["secondary_fwd"], "--file-prefix", pfx,
                                 timeout=60 * hp.SLOW)
        hp.check(st == 0, "secondary_fwd exit %d\n%s%s" % (st, out, err), prim)
        m = re.search(r"attached port (\d+): (net_null_ex\d+)", out)
        hp.check(m, "secondary_fwd attached nothing:\n" + out + err)
        port, name = m.group(1), m.group(2)
        f = re.search(r"forwarded on port %s for 1 s: rx (\d+) tx (\d+) dropped (\d+)" % port, out)
        hp.check(f and int(f.group(1)) > 0 and int(f.group(1)) == int(f.group(2)) + int(f.group(3)),
                 "secondary_fwd did not forward:\n" + out + err)
        hp.check(re.search(r"detached port %s: %s$" % (port, name), out, re.M),
                 "secondary_fwd did not detach:\n" + out + err)
        print("  secondary_fwd: " + f.group(0))

        st, out, err, _ = hp.run(os.path.join(inst.bindir, "hotport-secondary"),
                                 "--file-prefix", pfx, "-c", "show ports", timeout=30 * hp.SLOW)
        hp.check(st == 0 and re.search(r"^\s*%d\s+net_null_embed0\s" % embed_port, out, re.M)
                 and name not in out,
                 "installed hotport-secondary: exit %d\n%s%s" % (st, out, err), prim)

        hp.check(prim.stop() == 0, "primary_embed did not exit 0 on SIGTERM", prim)
        prim.wait_for(r"port %d: net_null_embed0 \(net_null\)" % embed_port)
        hp.check(not os.path.exists(hp.runtime_dir(pfx)), "runtime dir left", prim)


def test_man_pages(inst, tmp):
    """Both pages are installed in man1 and `man NAME` renders them from
    the installed tree."""
    if os.environ.get("HOTPORT_MAN") != "1":
        print("  man pages not built (no scdoc; -Dman): not checked")
        return hp.SKIP
    mandir = os.path.dirname(os.path.dirname(find(inst.root, "hotport-secondary.1")))
    hp.check(os.path.basename(os.path.dirname(find(inst.root, "hotport-primary.1"))) == "man1",
             "hotport-primary.1 not in man1")
    if shutil.which("man") is None:
        print("  man not installed: pages found, not rendered")
        return None
    for page, what in (("hotport-secondary", "a worker process of a running hotport primary"),
                       ("hotport-primary", "the primary process of a hotport instance")):
        out = sh(["man", "-P", "cat", page],
                 env=dict(os.environ, MANPATH=mandir, MANWIDTH="80", MAN_DISABLE_SECCOMP="1"))
        text = re.sub(r".\x08", "", out)
        for s in (page + " - " + what, "OPTIONS", "COMMANDS", "EXIT STATUS", "port attach",
                  "--file-prefix"):
            hp.check(s in text, "man %s lacks %r:\n%s" % (page, s, text[:2000]))
    return None


def main():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("SKIP: %s not installed (apt-get install gcc pkg-config binutils)" % ", ".join(missing))
        return hp.SKIP
    tmp = tempfile.mkdtemp(prefix="hotport-install-")
    try:
        inst = Installed(tmp)
        tests = [lambda t=t: t(inst, tmp) for t in
                 (test_installed_files, test_headers_alone, test_examples, test_man_pages)]
        for t, f in zip(tests, (test_installed_files, test_headers_alone, test_examples,
                                test_man_pages)):
            t.__name__ = f.__name__
        hp.main(tests)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
