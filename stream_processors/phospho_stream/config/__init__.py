"""The project config: event definitions, pricing, analytics switches, LLM endpoint, evaluation, privacy."""

from .errors import ConfigError
from .events import EventDefinition, ScoreRangeSettings, parse_keywords
from .load import CONFIG_ENV, config_path_from_env, load_config, parse_config
from .model import (
    AnalyticsSettings,
    EvaluationSettings,
    LLMSettings,
    ModelPrice,
    ProjectConfig,
    SentimentThreshold,
)
from .privacy import PrivacySettings, RetentionSettings

__all__ = [
    "ProjectConfig", "EventDefinition", "ScoreRangeSettings", "ModelPrice", "AnalyticsSettings",
    "SentimentThreshold", "LLMSettings", "EvaluationSettings", "ConfigError", "load_config",
    "parse_config", "config_path_from_env", "CONFIG_ENV", "parse_keywords", "PrivacySettings",
    "RetentionSettings",
]
