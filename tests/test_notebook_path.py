"""The README's notebook path: JupyterLab, installed by the set-up (the ``lab`` extra), serves the
chapters and opens ``book/*.md`` as notebooks through jupytext.

Starts ``jupyter lab`` on 127.0.0.1 (a free port, a random token, its runtime and user-settings
folders in a temporary directory) and asks its REST API what a reader's browser would ask. Runs
without JupyterLab only as a skip, unless ``LRBOOK_REQUIRE_LAB=1`` (set by ``make test``).
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = os.environ.get("LRBOOK_REQUIRE_LAB") == "1"
JUPYTER = Path(sys.executable).with_name("jupyter")
sys.path.insert(0, str(ROOT / "scripts"))
from export_notebooks import chapter_sources  # noqa: E402


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    try:
        import jupyterlab  # noqa: F401
        import jupytext  # noqa: F401
    except ImportError as exc:
        if REQUIRED:
            pytest.fail(f"JupyterLab or jupytext missing ({exc}): pip install -e '.[lab]'")
        pytest.skip(f"JupyterLab or jupytext not installed ({exc})")
    tmp = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"))
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(
        [str(JUPYTER), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n"
                            + (tmp / "lab.log").read_text()[-3000:])
            try:
                _get(base, token, "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not answer within 120 s:\n"
                                + (tmp / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _request(base, token, path, method="GET", body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read().decode()
        return r.status, (json.loads(text) if text and "json" in r.headers.get("Content-Type", "")
                          else text)


def _get(base, token, path):
    return _request(base, token, path)[1]


def test_lab_serves_its_page(lab):
    status, page = _request(*lab, "/lab")
    assert status == 200 and "JupyterLab" in page


def test_contents_api_lists_every_chapter(lab):
    listing = _get(*lab, "/api/contents/book?content=1")
    names = {item["name"] for item in listing["content"]}
    chapters = {p.name for p in chapter_sources()}
    assert chapters and chapters <= names, sorted(chapters - names)


def test_a_chapter_opens_as_a_notebook(lab):
    """jupytext's contents manager turns the MyST Markdown chapter into a notebook."""
    src = next(iter(chapter_sources()))
    model = _get(*lab, f"/api/contents/book/{src.name}?type=notebook&content=1")
    assert model["type"] == "notebook"
    cells = model["content"]["cells"]
    assert any(c["cell_type"] == "code" for c in cells)
    assert any(c["cell_type"] == "markdown" for c in cells)
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"


def test_markdown_opens_as_a_notebook_by_default(lab):
    """The set-up's JupyterLab settings make a double-click open book/*.md as a notebook."""
    plugin = _get(*lab, "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    viewers = plugin["schema"]["properties"]["defaultViewers"]["default"]
    viewers = {**viewers, **plugin["settings"].get("defaultViewers", {})}
    assert viewers.get("markdown") == "Jupytext Notebook", viewers


def test_the_chapters_kernel_starts(lab):
    specs = _get(*lab, "/api/kernelspecs")
    assert "python3" in specs["kernelspecs"]           # the kernel every chapter names
    status, kernel = _request(*lab, "/api/kernels", method="POST", body={"name": "python3"})
    assert status == 201
    assert kernel["id"] in {k["id"] for k in _get(*lab, "/api/kernels")}
    status, _ = _request(*lab, f"/api/kernels/{kernel['id']}", method="DELETE")
    assert status == 204
