"""deb.py - build qvm's Debian package once per source state, for the package and fleet tests.

build_deb() copies the tracked files of the source tree (as they are in the work tree,
edits included) into the build dir, runs dpkg-buildpackage -b there and caches the .deb
under $QVM_BUILD_ROOT/test-cache/deb/, keyed by the content of those files.
"""

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

from harness import build_root, log, source_root


def tracked_files():
    """The source tree's tracked paths (NUL-separated bytes, as git prints them)."""
    return subprocess.run(["git", "-C", source_root(), "ls-files", "-z"], check=True,
                          capture_output=True).stdout


def source_key(files):
    """A digest of the tracked files' names, link targets and contents."""
    h = hashlib.sha256()
    for rel in sorted(files.split(b"\0")):
        if not rel:
            continue
        path = os.path.join(source_root().encode(), rel)
        h.update(rel + b"\0")
        if os.path.islink(path):
            h.update(b"link:" + os.readlink(path))
        elif os.path.isfile(path):
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def build_deb():
    """Return the path of qvm_VERSION_amd64.deb for the current source, building it if needed."""
    files = tracked_files()
    cache = os.path.join(build_root(), "test-cache", "deb", source_key(files))
    os.makedirs(cache, exist_ok=True)
    with open(cache + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        debs = glob.glob(os.path.join(cache, "qvm_*_amd64.deb"))
        if debs:
            log(f"using the cached {debs[0]}")
            return debs[0]
        with tempfile.TemporaryDirectory(prefix="qvm-deb-", dir=build_root()) as work:
            src = os.path.join(work, "qvm")
            os.mkdir(src)
            tar = subprocess.run(["tar", "-C", source_root(), "--null", "-T", "-", "-cf", "-"],
                                 input=files, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-C", src, "-xf", "-"], input=tar, check=True)
            log("dpkg-buildpackage -b")
            r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b", "-j2"], cwd=src,
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise AssertionError(f"dpkg-buildpackage failed:\n{r.stdout[-4000:]}{r.stderr[-4000:]}")
            for deb in glob.glob(os.path.join(work, "qvm_*_amd64.deb")):
                shutil.copy(deb, cache)
        debs = glob.glob(os.path.join(cache, "qvm_*_amd64.deb"))
        if len(debs) != 1:
            raise AssertionError(f"dpkg-buildpackage made no single qvm_VERSION_amd64.deb: {debs}")
        return debs[0]
