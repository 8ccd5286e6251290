"""Evaluation of exported generators on the project's own digit classifier (no Inception weights here).

    from training.evaluation import evaluate_model_dir
    result = evaluate_model_dir(Path("models/dcgan-mnist/1"))     # {"metrics", "floor", "ratio", "targets", ...}

    python -m training evaluate models/dcgan-mnist/1 [--write] [--json]
    python -m training.evaluation.classifier        # rebuild assets/digit_classifier.onnx (needs torch)

Evaluating a model needs only numpy and onnxruntime; torch is used only to train the classifier.
"""

from training.evaluation.evaluate import evaluate_model_dir
from training.evaluation.sampling import EvaluationError

__all__ = ["EvaluationError", "evaluate_model_dir"]
