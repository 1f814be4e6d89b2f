# syntax=docker/dockerfile:1
# The OpsRadar image: Airflow 3 (api-server, scheduler, dag-processor, triggerer, Celery
# workers), the Spark standalone master/worker (PySpark's own Spark, so driver, master
# and executors run the same Spark and Python versions) and the `opsradar` CLI.
#   docker build --build-arg AIRFLOW_VERSION=3.3.2 -t opsradar/opsradar:0.1.0-airflow3.3.2 .
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm
ARG PYTHON_VERSION
# Must equal the apache-airflow pin in constraints.txt (checked below and by tests/test_compose.py).
ARG AIRFLOW_VERSION=3.3.2
ARG OPSRADAR_UID=50000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    JAVA_HOME=/usr/lib/jvm/java-17 \
    SPARK_HOME=/usr/local/lib/python${PYTHON_VERSION}/site-packages/pyspark \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/opsradar/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    OPSRADAR_STORAGE__ROOT=/data/lake

# Java 17 JRE for PySpark (JAVA_HOME links to it on any architecture); curl for health
# checks; tini reaps Spark/Celery children.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless curl tini procps \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" "${JAVA_HOME}" \
 && "${JAVA_HOME}/bin/java" -version

RUN useradd --system --uid "${OPSRADAR_UID}" --gid 0 --home-dir /opt/airflow --create-home opsradar \
 && mkdir -p /opt/opsradar /data/lake /data/incoming /opt/airflow/logs \
 && chown -R opsradar:0 /opt/opsradar /data /opt/airflow \
 && chmod -R g+rwX /opt/opsradar /data /opt/airflow

WORKDIR /opt/opsradar
# Dependencies first (cached layer), then the project itself.
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
COPY dags ./dags
COPY jobs ./jobs
COPY models ./models
COPY schemas ./schemas
RUN pip install -c constraints.txt ".[prod]" \
 && pip check \
 && test "$(python -c 'import importlib.metadata as m; print(m.version("apache-airflow"))')" = "${AIRFLOW_VERSION}" \
 && test -x "${SPARK_HOME}/bin/spark-class"

ENV PATH="${SPARK_HOME}/bin:${PATH}"
USER ${OPSRADAR_UID}
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["opsradar", "--help"]
