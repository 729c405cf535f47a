import Foundation

/// The zone and conduit diagram of a report as SVG: zones as boxes on an ellipse, conduits as arrows
/// labelled with their services. Drawn from the report alone, so that the HTML needs nothing at view time.
enum ZoneDiagram {
    static let width = 960.0
    static let boxWidth = 200.0
    static let boxHeight = 64.0

    struct Point {
        var x: Double
        var y: Double
    }

    static func svg(_ report: SiteReport) -> String {
        let zones = report.zones
        let height = max(360.0, min(760.0, 90.0 * Double(zones.count)))
        let centres = positions(count: zones.count, height: height)
        var index: [String: Int] = [:]
        for (i, zone) in zones.enumerated() { index[zone.name] = i }
        // One arrow per ordered zone pair: the services of every conduit between them.
        var arrows: [[Int]: (services: [String], unused: Bool, sites: [String], gateway: String?)] = [:]
        for conduit in report.conduits {
            guard let a = index[conduit.from], let b = index[conduit.to], a != b else { continue }
            var arrow = arrows[[a, b]] ?? ([], true, [], nil)
            arrow.services += conduit.services.filter { !arrow.services.contains($0) }
            arrow.unused = arrow.unused && conduit.unused.count == conduit.services.count
            arrow.sites += conduit.site.map { [$0] } ?? []
            arrow.gateway = arrow.gateway ?? conduit.gateway
            arrows[[a, b]] = arrow
        }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" class="zone-diagram" viewBox="0 0 \(n(width)) \(n(height))" \
            width="\(n(width))" height="\(n(height))" role="img" aria-label="Zones and conduits of site \
            \(Markup.escape(report.site))">
            <defs><marker id="sw-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" \
            orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e79"/></marker></defs>

            """
        for key in arrows.keys.sorted(by: { ($0[0], $0[1]) < ($1[0], $1[1]) }) {
            let arrow = arrows[key]!
            let (a, b) = (centres[key[0]], centres[key[1]])
            // Two arrows between the same zones run side by side.
            let offset = arrows[[key[1], key[0]]] != nil ? 8.0 : 0.0
            out += line(
                from: a, to: b, offset: offset, services: arrow.services, unused: arrow.unused,
                title: "\(zones[key[0]].name) -> \(zones[key[1]].name): \(arrow.services.joined(separator: ", "))"
                    + (arrow.sites.isEmpty ? "" : " (\(arrow.sites.joined(separator: "; ")))")
                    + (arrow.gateway.map { ", forwarded by \($0)" } ?? ", no gateway of the site forwards it")
                    + (arrow.unused ? "; carries nothing" : ""))
        }
        for (i, zone) in zones.enumerated() {
            let c = centres[i]
            let detail =
                "\(zone.hosts.count) host\(zone.hosts.count == 1 ? "" : "s")"
                + (zone.networks.first.map { ", \($0)" } ?? "") + (zone.networks.count > 1 ? " ..." : "")
            out += """
                <g class="zone" data-zone="\(Markup.escape(zone.name))">\
                <title>\(Markup.escape(zone.name)): \(Markup.escape(zone.networks.joined(separator: ", ")))\
                \(zone.gateways.isEmpty ? "" : "; gateways " + Markup.escape(zone.gateways.joined(separator: ", ")))\
                </title>\
                <rect x="\(n(c.x - boxWidth / 2))" y="\(n(c.y - boxHeight / 2))" width="\(n(boxWidth))" \
                height="\(n(boxHeight))" rx="8"/>\
                <text x="\(n(c.x))" y="\(n(c.y - 6))" class="zone-name">\(Markup.escape(clip(zone.name, 24)))</text>\
                <text x="\(n(c.x))" y="\(n(c.y + 16))" class="zone-detail">\(Markup.escape(clip(detail, 32)))</text>\
                </g>

                """
        }
        return out + "</svg>\n"
    }

    /// Zone centres on an ellipse, the first at the top, clockwise.
    static func positions(count: Int, height: Double) -> [Point] {
        if count == 1 { return [Point(x: width / 2, y: height / 2)] }
        let (rx, ry) = (width / 2 - boxWidth / 2 - 20, height / 2 - boxHeight / 2 - 20)
        return (0..<count).map { k in
            let angle = -Double.pi / 2 + 2 * Double.pi * Double(k) / Double(count)
            return Point(x: width / 2 + rx * cos(angle), y: height / 2 + ry * sin(angle))
        }
    }

    static func line(
        from a: Point, to b: Point, offset: Double, services: [String], unused: Bool, title: String
    ) -> String {
        let (dx, dy) = (b.x - a.x, b.y - a.y)
        let length = max((dx * dx + dy * dy).squareRoot(), 1)
        let (ux, uy) = (dx / length, dy / length)
        // Perpendicular, to the right of the direction of travel.
        let (px, py) = (-uy * offset, ux * offset)
        // Leave each box at its border.
        let leave = { (ux: Double, uy: Double) in
            min(boxWidth / 2 / max(abs(ux), 1e-9), boxHeight / 2 / max(abs(uy), 1e-9)) + 4
        }
        let start = Point(x: a.x + ux * leave(ux, uy) + px, y: a.y + uy * leave(ux, uy) + py)
        let end = Point(x: b.x - ux * leave(ux, uy) + px, y: b.y - uy * leave(ux, uy) + py)
        let middle = Point(x: (start.x + end.x) / 2 + px * 1.8, y: (start.y + end.y) / 2 + py * 1.8)
        let label = clip(services.joined(separator: ", "), 44)
        return """
            <g class="conduit\(unused ? " unused" : "")"><title>\(Markup.escape(title))</title>\
            <line x1="\(n(start.x))" y1="\(n(start.y))" x2="\(n(end.x))" y2="\(n(end.y))" \
            marker-end="url(#sw-arrow)"/>\
            <text x="\(n(middle.x))" y="\(n(middle.y))" class="conduit-label">\(Markup.escape(label))</text></g>

            """
    }

    static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "\u{2026}"
    }

    /// Whole pixels: stable output, no locale.
    static func n(_ value: Double) -> String { "\(Int(value.rounded()))" }
}

/// Text that goes into HTML or SVG.
enum Markup {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
