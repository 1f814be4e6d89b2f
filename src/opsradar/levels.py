"""The fixed log-level vocabulary and how source levels map onto it."""

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "UNKNOWN")

LEVEL_ALIASES = {
    "TRACE": "TRACE", "T": "TRACE", "FINEST": "TRACE",
    "DEBUG": "DEBUG", "D": "DEBUG", "V": "DEBUG", "VERBOSE": "DEBUG", "FINE": "DEBUG",
    "INFO": "INFO", "I": "INFO", "INFORMATION": "INFO", "NOTICE": "INFO",
    "WARN": "WARN", "W": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "E": "ERROR", "ERR": "ERROR", "SEVERE": "ERROR", "FAILURE": "ERROR",
    "FATAL": "FATAL", "F": "FATAL", "CRIT": "FATAL", "CRITICAL": "FATAL", "EMERG": "FATAL",
    "ALERT": "FATAL", "PANIC": "FATAL", "FAILED": "ERROR",
}
