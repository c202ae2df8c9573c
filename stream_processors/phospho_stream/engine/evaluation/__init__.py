"""The evaluation stage without faust: LLM verdicts and LLM events for every task."""

from .engine import EvaluationEngine
from .status import off_reason, read_status, status_line, status_path, write_off_status

__all__ = ["EvaluationEngine", "read_status", "write_off_status", "status_path", "status_line", "off_reason"]
