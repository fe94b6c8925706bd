# blogaudit as a container image: one static binary, nothing else, run as a non-root user.
# This is the image of the in-cluster CronJob (deploy/live/cronjob.yaml).
#
#   docker build -t blogaudit .
#   docker run --rm -v "$PWD:/src:ro" -w /src blogaudit scan .
#
# The release workflow (.github/workflows/release.yml) builds it on a tag for linux/amd64
# and linux/arm64.

# Build: Alpine's Rust targets musl, whose binaries are static by default.
FROM docker.io/library/rust:1-alpine AS build
# ring (rustls' crypto) compiles a little C and assembly.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# crt-static is musl's default; said explicitly because the final image has no libc.
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN cargo build --release --locked \
 && cp target/release/blogaudit /blogaudit

# Run: distroless "static" holds CA certificates, /etc/passwd with the `nonroot` user
# (65532) and tzdata; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /blogaudit /usr/local/bin/blogaudit
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/blogaudit"]
CMD ["--help"]
