"""Loading need models must not drag torch in (see crm.needs.persistence._import_skops_io).

Each check runs in a fresh interpreter: what a module imports is only visible before
anything else in the test session has imported it.
"""

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ADAPTER = "sklearn.externals.array_api_compat.torch"


def run_fresh(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_skops_trusts_the_same_types_and_the_torch_adapter_is_not_left_hidden() -> None:
    out = run_fresh(
        f"""
        import sys
        import crm.needs.persistence
        from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES
        from skops.io._utils import get_type_name
        from sklearn.utils import all_estimators

        print("left hidden:", sys.modules.get({ADAPTER!r}, "absent") is None)
        expected = sorted(
            get_type_name(cls) for _, cls in all_estimators()
            if get_type_name(cls).startswith("sklearn.")
        )
        print("same types:", sorted(SKLEARN_ESTIMATOR_TYPE_NAMES) == expected, len(expected))
        """
    )
    assert "left hidden: False" in out
    same = out.split("same types: ")[1].split()
    assert same[0] == "True" and int(same[1]) > 100, out


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed (the embeddings extra): nothing could import it",
)
def test_a_default_model_loads_and_predicts_without_importing_torch(tmp_path: Path) -> None:
    model = tmp_path / "needs.skops"
    run_fresh(
        f"""
        from crm.needs.classifier import NeedClassifier
        texts = ["how much is the pro plan", "what does it cost", "price for two seats",
                 "my order has not arrived", "where is my parcel", "tracking number please"]
        labels = ["pricing"] * 3 + ["order_status"] * 3
        NeedClassifier.train(texts * 5, labels * 5).save({str(model)!r})
        """
    )
    out = run_fresh(
        f"""
        import sys
        from crm.needs.classifier import NeedClassifier
        prediction = NeedClassifier.load({str(model)!r}).predict("how much does it cost")
        print(prediction.alternatives[0][0], "torch" in sys.modules)
        """
    )
    assert out.split() == ["pricing", "False"]
