# hookflow: one static binary for `hookflow api`, `hookflow worker` and `hookflow server`.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hookflow .

# distroless static: CA certificates and tzdata, no shell, runs as nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hookflow /usr/local/bin/hookflow
USER nonroot:nonroot
EXPOSE 7280 7281
ENTRYPOINT ["/usr/local/bin/hookflow"]
CMD ["--help"]
