# Shoal SFU node. Build: docker build -t shoal .
# Run:   docker run --rm -p 8080:8080 -p 40000-40003:40000-40003/udp -e SHOAL_WORKERS=4 \
#          -e SHOAL_ANNOUNCED_IP=<public ip> shoal
# Worker i takes UDP port 40000 + i (SHOAL_UDP_PORT): publish one port per worker.
# Node.js 24 (LTS, maintained until April 2028) on Debian 12, as CI's smoke test runs it. No uWebSockets.js
# build loads on Node 24 with Debian 12's glibc, so the image runs the ws engine and leaves uWS out.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY proto ./proto
COPY control ./control
COPY media ./media
COPY bench ./bench
COPY test ./test
RUN npm run build && npm prune --omit=dev && rm -rf node_modules/uWebSockets.js

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    SHOAL_HOST=0.0.0.0 \
    SHOAL_PORT=8080 \
    SHOAL_UDP_PORT=40000 \
    SHOAL_WS_ENGINE=ws
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080/tcp
EXPOSE 40000-40015/udp
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:' + (process.env.SHOAL_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "dist/control/cli/main.js"]
CMD ["serve"]
