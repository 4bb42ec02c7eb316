"""platform/ must never shadow the standard library's `platform` module (ARCHITECTURE.md §2)."""

import importlib
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_is_the_standard_library_module():
    import platform

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert callable(platform.python_version)


def test_platform_folder_is_not_a_package():
    assert (ROOT / "platform" / "guanxi" / "__init__.py").exists()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stripe_and_celery_import_with_platform_on_the_path():
    assert str(ROOT / "platform") in sys.path
    for name in ("stripe", "celery", "uuid"):
        module = importlib.import_module(name)
        assert module is not None
    import stripe

    assert stripe.VERSION.startswith("16.")
