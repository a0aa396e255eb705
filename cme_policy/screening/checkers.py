"""Load the generated checkers for a policy: compiled now from the IR, imported from a
temporary directory (removed once imported) under a unique module name, so `run` never uses
a stale `generated/`."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from cme_policy.backends import python as python_backend
from cme_policy.ir.model import Policy

PACKAGE_DIR = "python/policy_checks/"


def load_checkers(policy: Policy, source: str) -> ModuleType:
    files = python_backend.generate(policy, source)
    digest = hashlib.sha256("".join(sorted(files)).encode() + "".join(
        files[k] for k in sorted(files)).encode()).hexdigest()[:16]
    name = f"_cme_checks_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    folder = Path(tempfile.mkdtemp(prefix="cme-checks-"))
    root = folder / "policy_checks"
    try:
        for rel, text in files.items():
            if rel.startswith(PACKAGE_DIR):
                target = root / rel[len(PACKAGE_DIR):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, root / "__init__.py",
                                                      submodule_search_locations=[str(root)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)  # imports every module of the package
        except BaseException:
            del sys.modules[name]
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # nothing is imported from it later
    return module
