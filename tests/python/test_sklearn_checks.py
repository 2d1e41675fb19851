"""scikit-learn's own estimator checks on Regressor and Classifier, when python3-sklearn is
installed (skipped with a message otherwise). Checks that do not apply are listed in SKIPPED
with the reason."""
import pytest

import nobias

sklearn_checks = pytest.importorskip("sklearn.utils.estimator_checks",
                                     reason="python3-sklearn not installed")

# check name -> why it does not apply to a bias-free network trained in float32.
SKIPPED = {}

@pytest.fixture(autouse=True)
def one_thread():
    # As in test_estimators.py: small networks, a shared machine.
    saved = nobias.threads_setting()
    nobias.set_threads(1)
    yield
    nobias.set_threads(saved)


ESTIMATORS = [nobias.Regressor(hidden_layer_sizes=(32,)),
              nobias.Classifier(hidden_layer_sizes=(32,))]


@sklearn_checks.parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_check(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in SKIPPED:
        pytest.skip(f"{name}: {SKIPPED[name]}")
    check(estimator)
