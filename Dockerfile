FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
EXPOSE 3000
USER node
# tsx transpiles at load time only; the Lua scripts are read from src/infra/lua and the audit's SQL
# migrations from migrations/ at start.
CMD ["node", "--import", "tsx", "src/app/main.ts", "all"]
