"""OpsRadar: log & metrics anomaly detection. Keep this import light: models/ is
imported on GPU workers that have only torch, transformers, numpy and pyarrow."""

__version__ = "0.1.0"
