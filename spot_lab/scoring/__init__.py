"""Spot's suspicious-connects scoring (LDA over event "words"), beacon detection, feedback.

`score_day(engine, data_type, day)` is the Python API; `score_command` backs `spot-lab score`.
"""

from spot_lab.scoring.feedback import append_feedback, feedback_path, read_feedback
from spot_lab.scoring.run import ScoreResult, score_command, score_day

__all__ = [
    "ScoreResult",
    "append_feedback",
    "feedback_path",
    "read_feedback",
    "score_command",
    "score_day",
]
