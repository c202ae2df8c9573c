"""Text analytics of one task, as pure functions: language, sentiment, events, cost."""

from .analyze import RULES_VERSION, Analyzer, EarlierTask, Started, analytics_version, analyze
from .cost import Cost, task_cost
from .detection import Detector
from .keywords import KeywordMatcher
from .language import detect_language
from .records import Analysis, AnalysisError, Detection, TaskText
from .scopes import SCOPES, PreparedTask, ScopeTexts
from .sentiment import Sentiment, analyze_sentiment, sentiment_label
from .text import clean_text
from .usage import TokenUsage, token_usage

__all__ = [
    "analyze", "Analyzer", "EarlierTask", "Started", "analytics_version", "RULES_VERSION", "TaskText", "Analysis", "AnalysisError",
    "Detection", "detect_language", "analyze_sentiment", "sentiment_label", "Sentiment",
    "Detector", "KeywordMatcher", "ScopeTexts", "PreparedTask", "SCOPES", "task_cost", "Cost",
    "token_usage", "TokenUsage", "clean_text",
]
