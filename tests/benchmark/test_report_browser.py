"""The report opens in a real browser and every figure loads (headless Chromium; slow)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from benchmark.cli import main

_CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)

# Appended to a copy of the report: after load, count the images that decoded (naturalWidth > 0).
_PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.insertAdjacentHTML('beforeend', `<p id="probe">images ${ok}/${imgs.length}</p>`);
});</script>"""


@pytest.mark.slow
@pytest.mark.skipif(_CHROMIUM is None, reason="no Chromium on this machine")
def test_every_figure_loads_in_headless_chromium(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOAQ_CACHE", str(tmp_path / "cache"))
    assert main(["bench", "--suite", "quick", "--methods", "otsu,li", "--out", str(tmp_path / "r.json"), "--quiet"]) == 0
    assert main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "rep")]) == 0
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run([_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'id="probe">images (\d+)/(\d+)<', dom)
    assert found, dom[-2000:]
    ok, total = map(int, found.groups())
    assert total == page.count("<img") and total >= 5
    assert ok == total
