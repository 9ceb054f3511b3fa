# syntax=docker/dockerfile:1
# actbridge: the runtime artifact of scripts/build-artifact.sh on Node 24 LTS, as a non-root user.
# Build: docker build -t actbridge .   Run: docs/production.md (SIGNING_KEYS, ISSUER, anchors, clients).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN sh scripts/build-artifact.sh /artifact

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build --chown=root:root /artifact /app
# Configuration is mounted, never baked in: anchors, clients and keys differ per deployment.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    TRUST_ANCHORS_DIR=/etc/actbridge/trust-anchors \
    CLIENTS_FILE=/etc/actbridge/clients.yaml \
    SIGNING_KEYS=/run/secrets/actbridge-keys
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["node", "dist/cli/healthcheck.js"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
