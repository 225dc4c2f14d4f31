"""A scikit-learn estimator tuned by its cross-validation score: an SVC on the digits data,
C and gamma searched by GP-based Bayesian optimisation. Run: python3 sklearn_cv.py"""
import tempfile

from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

import tune
from tune.suggest import GPSearch

X, y = load_digits(return_X_y=True)


def cv_score(config):
    model = SVC(C=config["C"], gamma=config["gamma"])
    tune.report(cv_accuracy=float(cross_val_score(model, X, y, cv=3).mean()))


if __name__ == "__main__":
    analysis = tune.run(cv_score, config={"C": tune.loguniform(1e-2, 1e2), "gamma": tune.loguniform(1e-4, 1e-1)},
                        search_alg=GPSearch(seed=0, n_initial_points=4), num_samples=10, metric="cv_accuracy",
                        mode="max", local_dir=tempfile.mkdtemp(), verbose=1)
    print(analysis.dataframe()[["cv_accuracy", "config/C", "config/gamma"]].sort_values("cv_accuracy"))
    best = analysis.get_best_config()
    print("best:", best)
    assert analysis.get_best_trial()["last_result"]["cv_accuracy"] > 0.9
