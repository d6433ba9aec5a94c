# Shoal SFU node. Build: docker build -t shoal .
# Run:   docker run --rm -p 8080:8080 -p 40000-40003:40000-40003/udp -e SHOAL_WORKERS=4 \
#          -e SHOAL_ANNOUNCED_IP=<public ip> shoal
# Worker i takes UDP port 40000 + i (SHOAL_UDP_PORT): publish one port per worker.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY proto ./proto
COPY control ./control
COPY media ./media
COPY bench ./bench
COPY test ./test
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    SHOAL_HOST=0.0.0.0 \
    SHOAL_PORT=8080 \
    SHOAL_UDP_PORT=40000
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080/tcp
EXPOSE 40000-40015/udp
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:' + (process.env.SHOAL_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "dist/control/cli/main.js"]
CMD ["serve"]
