// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sitewall",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sitewall", targets: ["sitewall"]),
        .library(name: "SitewallCore", targets: ["SitewallCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0")
    ],
    targets: [
        .target(name: "CSitewallLinux"),
        // The netlink shim links the system's libnftnl and libmnl (libnftnl-dev, libmnl-dev).
        .target(
            name: "CNftnl",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("nftnl"), .linkedLibrary("mnl")]
        ),
        // libnftables (libnftables-dev) renders foreign rules in nft syntax for diff; apply never uses it.
        .systemLibrary(name: "CNftables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),
        // libyaml (libyaml-dev): site and profile files are composed from its events (Input/YAMLTree.swift).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(name: "SitewallCore", dependencies: ["CYAML", "CSitewallLinux", "CNftnl", "CNftables"]),
        .executableTarget(
            name: "sitewall",
            dependencies: [
                "SitewallCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "SitewallTestSupport", dependencies: ["SitewallCore"], path: "Tests/SitewallTestSupport"),
        // The interop suite as a program (make interop; the interrupt test runs it). Not installed.
        .executableTarget(
            name: "sitewall-interop", dependencies: ["SitewallCore", "SitewallTestSupport"], path: "Tests/InteropTool"),
        .testTarget(name: "SitewallCoreTests", dependencies: ["SitewallCore", "SitewallTestSupport"]),
        .testTarget(name: "SitewallKernelTests", dependencies: ["SitewallCore", "SitewallTestSupport"]),
    ]
)
