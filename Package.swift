// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "flowgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flowgate", targets: ["flowgate"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
    ],
    targets: [
        // JSON, the SSE codec, the gateway's error type and usage arithmetic: pure, no I/O.
        .target(
            name: "OpenAIWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio")
            ]
        ),
        // The canonical chat every dialect and provider meets at (docs/architecture.md): pure.
        .target(
            name: "ChatCore",
            dependencies: ["OpenAIWire", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Client dialects, one folder each (OpenAIChat, AnthropicMessages): decoding, encoding, errors. Pure.
        .target(
            name: "Dialects",
            dependencies: [
                "ChatCore", "OpenAIWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // What survives a restart and is shared by instances (docs/architecture.md, "State store"):
        // protocols, memory, and SQL over SQLite or PostgreSQL; secrets sealed with AES-GCM.
        .target(
            name: "Stores",
            dependencies: [
                "OpenAIWire",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HTTP/1.1 client for upstream calls (docs/architecture.md, "The upstream HTTP client").
        .target(
            name: "UpstreamHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Upstreams: one folder per provider kind.
        .target(
            name: "Providers",
            dependencies: [
                "OpenAIWire", "ChatCore", "Stores", "UpstreamHTTP",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Resources"]
        ),
        // The Hummingbird application: routes, middleware, model routing, configuration.
        .target(
            name: "Gateway",
            dependencies: [
                "OpenAIWire", "ChatCore", "Dialects", "Providers", "Stores", "UpstreamHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "flowgate",
            dependencies: [
                "Gateway", "Providers", "Stores", "UpstreamHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Mock upstreams shared by the tests (a Hummingbird app each).
        .target(
            name: "Mocks",
            dependencies: [
                "OpenAIWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/Mocks"
        ),
        .executableTarget(
            name: "MockUpstream",
            dependencies: ["Mocks", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Tests/MockUpstream"
        ),
        .testTarget(name: "OpenAIWireTests", dependencies: ["OpenAIWire", "ChatCore", "Dialects"]),
        .testTarget(name: "ProvidersTests", dependencies: ["Providers", "ChatCore", "Dialects"]),
        .testTarget(name: "DialectsTests", dependencies: ["Dialects", "ChatCore", "OpenAIWire"]),
        .testTarget(name: "StoresTests", dependencies: ["Stores", .product(name: "SQLKit", package: "sql-kit")]),
        .testTarget(
            name: "UpstreamHTTPTests",
            dependencies: [
                "UpstreamHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "Mocks", "Stores", "UpstreamHTTP",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ]
)
