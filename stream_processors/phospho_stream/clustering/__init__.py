"""Topics runs: recent task inputs grouped into named topics, written as rows."""

from .job import TopicsRun, parse_since, run_topics
from .schedule import TopicsSchedule
from .source import Reader, TaskInput, open_reader, read_task_inputs

__all__ = ["run_topics", "TopicsRun", "TopicsSchedule", "parse_since", "open_reader", "read_task_inputs", "Reader",
           "TaskInput"]
