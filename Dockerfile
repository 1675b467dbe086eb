# paas itself, for docker-compose.yml: the server, which runs builds and dynos as containers on the
# host's engine through the mounted Docker socket. Its base image comes from an image registry;
# where none is reachable, run paas on the host instead (docs/docker.md).
FROM node:24-bookworm-slim AS build
# better-sqlite3 compiles when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/paas
COPY . .
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
# git serves pushes; debootstrap builds the stack image should no registry answer later on.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git debootstrap \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/paas
COPY --from=build /srv/paas /srv/paas
ENV PAAS_RUNTIME=docker PAAS_DATA_DIR=/data NODE_ENV=production
VOLUME /data
CMD ["node", "bin/paas", "server"]
