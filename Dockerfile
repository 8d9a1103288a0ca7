# The Ceiling image: `ceiling` as the entrypoint, for CI jobs, cron probes and
# `ceiling serve` fleets (docs/kubernetes runs it). From the repository root:
#
#   docker build -t ceiling:0.1.0 .
#   docker run --rm -v "$PWD:/work" ceiling:0.1.0 run journeys
#
# Node 20 on Debian slim, only the runtime dependencies, Debian's Chromium for
# browser journeys (Playwright's own browser download is not needed), a
# non-root user.

# ---- build: bundle the CLI (needs the dev dependencies: esbuild)
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts here: the bundle needs no native module, and `prepare` would run before the sources are in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts ./scripts
COPY src ./src
RUN npm run bundle

# ---- deps: the runtime dependencies only, with better-sqlite3 built for this image
FROM node:20-slim AS deps
# better-sqlite3 is compiled when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts skips our own `prepare` (it needs esbuild); the rebuild then runs better-sqlite3's own install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

# ---- runtime
FROM node:20-slim
# chromium: for browser journeys; leave it out if you run HTTP and WebSocket journeys only (saves ~400 MB).
# tini: PID 1 that forwards SIGTERM and reaps Chromium's child processes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# package.json says "type": "module", which the bundled CLI's .js files need.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/cli ./dist/cli
COPY journeys/ceiling.schema.json ./journeys/ceiling.schema.json
COPY docs/ceiling.config.schema.json ./docs/ceiling.config.schema.json
COPY LICENSE README.md ./
RUN ln -s /app/dist/cli/main.js /usr/local/bin/ceiling \
 && mkdir -p /work/.ceiling \
 && chown -R node:node /work
# The node image's non-root user (uid 1000). With a read-only root file system,
# mount writable volumes at /work/.ceiling (history, evidence) and /tmp (Chromium's profile).
USER node
WORKDIR /work
# Fewer glibc malloc arenas slowed the daemon's slow growth of resident memory
# under load in npm run soak (see the README's Soak section); it did not stop it.
ENV NODE_ENV=production \
    CEILING_BROWSER_PATH=/usr/bin/chromium \
    MALLOC_ARENA_MAX=2 \
    HOME=/tmp
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "ceiling"]
CMD ["--help"]
