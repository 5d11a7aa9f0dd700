# syntax=docker/dockerfile:1
# The runtime image the stacks deploy (ECS, Cloud Run, Container Apps, OCI, Code Engine):
# the esbuild bundle plus only the files it loads at run time.

# Build: the bundle needs the dev tools (esbuild, tsx); none of them reaches the runtime image.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm ci links the workspace packages (@data-sync/*), so their manifests come first.
COPY config/package.json ./config/
COPY pipelines/package.json ./pipelines/
COPY integrations/package.json ./integrations/
COPY monitoring/package.json ./monitoring/
COPY n8n/package.json ./n8n/
COPY services/sync-runtime/package.json ./services/sync-runtime/
COPY test/fakes/package.json ./test/fakes/
COPY test/services/package.json ./test/services/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY config ./config
COPY integrations ./integrations
COPY monitoring ./monitoring
COPY n8n ./n8n
COPY pipelines ./pipelines
COPY services ./services
# The web console's source: npm run build bundles it beside the runtime (dist/runtime/console).
COPY console ./console
# The demo mode (DATA_SYNC_DEMO) bundles the vendor fakes.
COPY test/fakes ./test/fakes
RUN npm run build

# Runtime: Node 24 slim, no npm install, no shell tooling beyond the base, running as the node user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_SYNC_DATA_DIR=/data \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
WORKDIR /app
# One bundle per cloud (each with only its queue SDK; the stacks start theirs) and main.js, the local one.
COPY --from=build /src/dist/runtime/main.js /src/dist/runtime/aws.js /src/dist/runtime/gcp.js /src/dist/runtime/azure.js /src/dist/runtime/oci.js /src/dist/runtime/ibm.js dist/runtime/
COPY --from=build /src/dist/runtime/console dist/runtime/console
# Imported at run time, never bundled: PGlite (the embedded store without DATABASE_URL) ships its
# WASM and data files beside its module; swagger-ui's page for /docs is read from its package.
COPY --from=build /src/node_modules/@electric-sql/pglite node_modules/@electric-sql/pglite
COPY --from=build /src/node_modules/@fastify/swagger-ui/package.json node_modules/@fastify/swagger-ui/package.json
COPY --from=build /src/node_modules/@fastify/swagger-ui/static node_modules/@fastify/swagger-ui/static
RUN mkdir /data && chown 1000:1000 /data
# 1000 is the base image's `node` user; numeric so platforms can verify it is not root.
USER 1000:1000
# Node's compile cache, filled here by loading each bundle once: a container then starts from compiled code
# instead of parsing 2-3 MB of JavaScript. Node keys it by its version, flags and user id, so this runs on the
# image's own Node, as the user the containers run as, with no flags, as the stacks' commands start Node.
RUN for bundle in main aws gcp azure oci ibm; do node -e "require('./dist/runtime/' + process.argv[1] + '.js')" "$bundle"; done
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/runtime/main.js"]
