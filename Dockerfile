# Build: compile TypeScript to dist/ (with the dev dependencies), then ship only dist/, the
# migrations and the production dependencies. The service runs as plain JavaScript: no transpiler
# thread or source maps in memory.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The demo pages are bundled from the SDK's source.
COPY client ./client
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The audit's SQL migrations are read from migrations/ at start (dist/infra/pg/../../../migrations).
COPY migrations ./migrations
EXPOSE 3000
USER node
CMD ["node", "dist/app/main.js", "all"]
