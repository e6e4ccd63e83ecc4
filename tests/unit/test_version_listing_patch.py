"""The emulator's version listings share stored bodies instead of copying them (moto leaked every copy).

The patch changes moto for the whole process, so it is applied in a child process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import gc, json, tempfile
from moto.s3 import models
from pipeline_infra_tools.sandbox.emulator import version_listings_share_bodies

created = []
original_spooled = tempfile.SpooledTemporaryFile
def counting(*args, **kwargs):
    created.append(1)
    return original_spooled(*args, **kwargs)
tempfile.SpooledTemporaryFile = counting
models.tempfile.SpooledTemporaryFile = counting

def run(patched):
    if patched:
        version_listings_share_bodies()
    backend = models.s3_backends["123456789012"]["aws"]
    name = "listing-" + ("patched" if patched else "plain")
    backend.create_bucket(name, "us-east-1")
    backend.put_bucket_versioning(name, "Enabled")
    for n in range(3):
        backend.put_object(name, "config/a.json", b"x" * 300_000 + str(n).encode())
    backend.put_object(name, "config/b.json", b"{}")
    before = len(created)
    for _ in range(20):
        versions, _, markers, _, _ = backend.list_object_versions(name)
        latest = sorted((v.name, v.is_latest) for v in versions)
    del versions
    gc.collect()
    body = backend.get_object(name, "config/a.json").value
    return {"temp_files": len(created) - before, "latest": latest, "body_end": body[-1:].decode()}

print(json.dumps({"plain": run(False), "patched": run(True)}))
"""


def test_listings_copy_no_body_and_leave_stored_bodies_readable() -> None:
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=120)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # moto alone writes a temporary copy of every version on every listing; the probe can see that
    assert result["plain"]["temp_files"] >= 20 * 4
    # patched: no copies, the same answer, and the stored body survives the views being collected
    assert result["patched"]["temp_files"] == 0
    assert result["patched"]["latest"] == result["plain"]["latest"]
    assert [flag for _, flag in result["patched"]["latest"]].count(True) == 2
    assert result["patched"]["body_end"] == "2"
