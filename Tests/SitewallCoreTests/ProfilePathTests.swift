import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 17: profiles as an extensible format. Local folders add to the shipped profiles (and may
/// replace one by name), SITEWALL_PROFILES lists folders, every citation names a document the
/// profile set lists, errors name the real file, and nothing the repository ships points outside it.
@Suite struct ProfilePathTests {
    /// A site that uses a shipped role and a role of a local profile.
    static let site = """
        site: local-profile
        zones:
          plant: { networks: [10.9.0.0/24] }
        hosts:
          historian: { address: 10.9.0.10, roles: [acme-historian/server] }
          hmi: { address: 10.9.0.20, roles: [acme-historian/client, modbus/client] }
          plc: { address: 10.9.0.30, roles: [modbus/server] }

        """

    static func localProfile(port: Int = 5450) -> String {
        """
        profile: acme-historian
        vendor: Acme
        product: Historian
        services:
          collect:
            transport: tcp
            port: \(port)
            cite: ["acme-historian-manual: 'The collector listens on TCP \(port).'"]
        roles:
          server: { summary: Historian, offers: [collect] }
          client: { summary: Collector client, uses: [collect] }

        """
    }

    static let localSet = """
        documents:
          acme-historian-manual:
            vendor: Acme
            title: Historian Installation Guide
            section: Network ports
            date: 2025

        """

    /// A folder with the local profile (and its profile-set.yaml), and the site next to it.
    static func folder(profile: String = localProfile(), set: String? = localSet) throws -> ScratchDirectory {
        let scratch = try ScratchDirectory("sitewall-profiles")
        try FileManager.default.createDirectory(atPath: scratch.file("local"), withIntermediateDirectories: true)
        try profile.write(toFile: scratch.file("local/acme-historian.yaml"), atomically: true, encoding: .utf8)
        if let set { try set.write(toFile: scratch.file("local/profile-set.yaml"), atomically: true, encoding: .utf8) }
        try site.write(toFile: scratch.file("site.yaml"), atomically: true, encoding: .utf8)
        return scratch
    }

    static func sitewall(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let variables = environment.map { "\($0.key)=\($0.value)" }
        return try Run.program(
            "/usr/bin/env", ["-u", "SITEWALL_PROFILES"] + variables + [Repository.executable] + arguments)
    }

    @Test func aLocalFolderAddsToTheShippedProfiles() throws {
        let scratch = try Self.folder()
        let result = try Self.sitewall([
            "compile", scratch.file("site.yaml"), "--host", "historian",
            "--profiles", scratch.file("local"),
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tcp dport 5450"), "\(result.stdout)")
        let plc = try Self.sitewall([
            "compile", scratch.file("site.yaml"), "--host", "plc",
            "--profiles", scratch.file("local"),
        ])
        #expect(plc.status == 0 && plc.stdout.contains("tcp dport 502"), "\(plc.stderr)")
    }

    @Test func sitewallProfilesListsFolders() throws {
        let scratch = try Self.folder()
        let other = try ScratchDirectory("sitewall-profiles")
        let result = try Self.sitewall(
            ["check", scratch.file("site.yaml")],
            environment: ["SITEWALL_PROFILES": "\(other.path):\(scratch.file("local"))"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0 errors"))
    }

    @Test func aLocalProfileReplacesTheShippedOneOfItsName() throws {
        let scratch = try ScratchDirectory("sitewall-profiles")
        let shipped = try String(contentsOfFile: Repository.profiles + "/protocols/modbus.yaml", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch.file("local"), withIntermediateDirectories: true)
        try shipped.replacingOccurrences(of: "port: 502", with: "port: 1502")
            .write(toFile: scratch.file("local/modbus.yaml"), atomically: true, encoding: .utf8)
        try Self.site.replacingOccurrences(of: "acme-historian/server", with: "ntp/client")
            .replacingOccurrences(of: "acme-historian/client, ", with: "")
            .write(toFile: scratch.file("site.yaml"), atomically: true, encoding: .utf8)
        let result = try Self.sitewall([
            "compile", scratch.file("site.yaml"), "--host", "plc", "--profiles", scratch.file("local"),
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tcp dport 1502") && !result.stdout.contains("dport 502 "), "\(result.stdout)")
        let show = try Self.sitewall(["profiles", "show", "modbus", "--profiles", scratch.file("local")])
        #expect(show.stdout.contains("file: \(scratch.file("local/modbus.yaml"))"))
        #expect(show.stdout.contains("replaces: \(Repository.profiles)/protocols/modbus.yaml"), "\(show.stdout)")
    }

    @Test func aMissingFolderIsAnError() throws {
        let scratch = try Self.folder()
        let result = try Self.sitewall(["check", scratch.file("site.yaml"), "--profiles", scratch.file("nowhere")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: profile folder '\(scratch.file("nowhere"))' does not exist"))
    }

    /// A citation of a document no profile-set.yaml lists is refused where it stands, in the real file.
    @Test func citationsNameListedDocumentsAndErrorsNameTheRealFile() throws {
        let scratch = try Self.folder(set: nil)
        let result = try Self.sitewall(["check", scratch.file("site.yaml"), "--profiles", scratch.file("local")])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "\(scratch.file("local/acme-historian.yaml")):8:12: error: the citation names document "
                    + "'acme-historian-manual', which no profile-set.yaml on the profile path lists"),
            "\(result.stderr)")
        #expect(result.stderr.contains("fix: cite one of aveva-server-processes"))
    }

    /// Citations carry the document's name (vendor, title, section, date) into the policy.
    @Test func everyShippedCitationNamesItsDocument() throws {
        let catalog = Repository.catalog
        let citations = Self.citations(catalog)
        #expect(citations.count > 100)
        for citation in citations {
            #expect(
                citation.source != nil && citation.source == catalog.documents[citation.document]?.name, "\(citation)")
        }
        #expect(
            catalog.documents["aveva-server-processes"]?.name
                == "AVEVA, Plant SCADA documentation, \"Server Processes\", Default Ports, last updated Jul 18, 2023")
        let policy = try Workspace.load(site: Repository.example("plant-scada"), profiles: Repository.profiles)
        let json = try String(decoding: JSONEncoder().encode(policy.flows.flatMap(\.citations)), as: UTF8.self)
        #expect(json.contains("Server Processes"))
    }

    /// Each quote a profile takes from sitewall's protocol notes is in docs/protocol-notes.md.
    @Test func protocolNoteQuotesAreInTheNotes() throws {
        let notes = try String(contentsOfFile: Repository.root + "/docs/protocol-notes.md", encoding: .utf8)
        let cited = Self.citations(Repository.catalog).filter { $0.document == SourceDocument.protocolNotes }
        // The 'quoted text' inside each reference.
        let quotes: [String] = cited.flatMap { citation -> [String] in
            let parts = citation.reference.split(separator: "'", omittingEmptySubsequences: false)
            return parts.indices.filter { $0 % 2 == 1 }.map { String(parts[$0]) }
        }
        #expect(quotes.count > 10)
        // Line breaks in the notes are spaces to a reader.
        let flat = notes.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for quote in quotes {
            let words = quote.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(flat.contains(words), "not in docs/protocol-notes.md: \(quote)")
        }
    }

    /// Nothing the repository ships names a file outside it.
    @Test func theRepositoryStandsOnItsOwn() throws {
        let outside = [
            "../shared", "ics-port-facts", "000_6d1a2f70aee8f97d", "001_d240484fe08123b1",
            "002_7067607ca248d15c", "003_9a467e77855fc095", "netlink-notes.md", "style-anchors.md",
        ]
        let files = try Run.program("/usr/bin/git", ["-C", Repository.root, "ls-files"]).stdout
            .split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("Tests/SitewallCoreTests/ProfilePathTests.swift") }
        #expect(files.count > 100)
        for file in files {
            guard let text = try? String(contentsOfFile: Repository.root + "/" + file, encoding: .utf8) else {
                continue
            }
            for word in outside where text.contains(word) { Issue.record("\(file) mentions \(word)") }
        }
    }

    static func citations(_ catalog: ProfileCatalog) -> [Citation] { catalog.profiles.flatMap(\.citations) }

    @Test func versionNamesTheProfileSet() throws {
        let result = try Self.sitewall(["--version"])
        #expect(result.status == 0)
        #expect(
            result.stdout.hasPrefix("sitewall 0.2.0 (profiles 2026.11.22 in \(Repository.profiles))"),
            "\(result.stdout)")
    }
}
