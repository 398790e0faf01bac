# Glimpse: multi-stage build. The runtime image holds the jar, the bundled model cards and a JRE.
#
#   docker build -t glimpse .
#   docker run -p 8080:8080 -v glimpse-data:/data glimpse
#
# OCR (POST /v1/ocr): the image has no PP-OCRv4 files; install them on the host with scripts/fetch-ocr-models.sh DIR and
# mount them: -v DIR:/models/ppocr-v4:ro -e GLIMPSE_OCR_MODEL_DIR=/models/ppocr-v4 (without them /v1/ocr answers 503).
#
# CUDA variant: build the jar with the GPU build of ONNX Runtime and run it on a CUDA 12 + cuDNN 9 base image with a JRE
# installed, with --gpus all:
#   build stage:   mvn -B -ntp -Pcuda package -DskipTests
#   runtime base:  nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 (+ apt-get install openjdk-17-jre-headless)
#   run with:      -e GLIMPSE_RUNTIME_DEVICE=cuda

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -ntp dependency:go-offline
COPY src src
RUN mvn -B -ntp package -DskipTests

FROM eclipse-temurin:17-jre
ENV ORT_DISABLE_TELEMETRY=1 \
    DJL_OFFLINE=true \
    OPT_OUT_TRACKING=true \
    GLIMPSE_MODEL_DIR=/app/model-cards \
    GLIMPSE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /src/target/glimpse.jar /app/glimpse.jar
COPY model-cards /app/model-cards
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/glimpse.jar"]
