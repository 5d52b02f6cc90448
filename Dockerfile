# The worker and API image: compiled at build time (npm run build) so that processes start fast and run no
# TypeScript loader; dist/worker.js loads the workflow bundle built beside it.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Compiled worker and API (no TypeScript loader at run time) and the workflow bundle, in dist/.
RUN npm run build
# glibc's allocator: each buffer of 128 KiB or more mapped on its own and returned when freed, and two arenas, so that
# the batches an export frees go back to the system instead of staying in a fragmented heap. V8's young generation
# at 4 MB per semi-space instead of 16: the short-lived rows and Arrow columns of an export are collected sooner
# (about 25 MB less peak for a Parquet export, for about 10% more worker CPU; README, "Memory").
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 NODE_OPTIONS=--max-semi-space-size=4
USER node
CMD ["node", "--enable-source-maps", "dist/worker.js"]
