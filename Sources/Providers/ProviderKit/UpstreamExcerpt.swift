/// A short, single-line excerpt of an upstream body for error messages.
package enum UpstreamExcerpt {
    package static func of<Bytes: Collection<UInt8>>(_ bytes: Bytes, limit: Int = 200) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\r", with: " ")
        return bytes.count > limit ? text + "…" : text
    }
}
